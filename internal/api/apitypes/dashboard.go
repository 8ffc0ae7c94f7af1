package apitypes

import "berth.dev/berth/internal/dashboard"

// AppDashboard is an application's RED metrics per version and its pods
// over a range, read from Prometheus.
type AppDashboard = dashboard.Dashboard

// DashboardMaxPoints is the most points a dashboard's series may have.
const DashboardMaxPoints = dashboard.MaxPoints
