package dashboard

import (
	"fmt"
	"strconv"
	"time"

	"berth.dev/berth/internal/analysis"
)

// PanelQuery is the PromQL of one panel.
type PanelQuery struct {
	Name, Unit, Expr string
	// Gateway: the series are the gateway's, labelled by track (stable,
	// gray, none); otherwise by version name.
	Gateway bool
}

// Queries renders the panels' queries for s, rates over window, each
// summed by the version label:
//
//   - requests: requests per second through the gateway;
//   - errorRatio: the share answered 5xx (0 with traffic and no errors;
//     no point without traffic);
//   - p50, p99: latency quantiles of the gateway's histogram, in seconds;
//   - podsReady: pods whose Ready condition is true;
//   - restarts: container restarts of the current pods.
func Queries(s Subject, window time.Duration) []PanelQuery {
	sel := analysis.Selector(analysis.Subject{Cluster: s.Cluster, Namespace: s.Namespace, Application: s.Application})
	w := promDuration(window)
	rate := func(extra string) string {
		return fmt.Sprintf(`sum by (version) (rate(berth_gateway_requests_total{%s%s}[%s]))`, sel, extra, w)
	}
	quantile := func(q string) string {
		return fmt.Sprintf(`histogram_quantile(%s, sum by (version, le) (rate(berth_gateway_request_duration_seconds_bucket{%s}[%s])))`, q, sel, w)
	}
	// The environment's own cluster and namespace too: a cluster's pods may
	// carry the same tenant, project and app labels under another Berth
	// (a staging one) or in another namespace.
	pods := fmt.Sprintf(`cluster=%q,namespace=%q,tenant=%q,project=%q,environment=%q,app=%q`,
		s.Cluster, s.Namespace, s.Tenant, s.Project, s.Environment, s.Application)
	return []PanelQuery{
		{Name: "requests", Unit: "requests/s", Expr: rate(""), Gateway: true},
		{Name: "errorRatio", Unit: "ratio", Expr: fmt.Sprintf(`(%s or (%s * 0)) / %s`, rate(`,code=~"5.."`), rate(""), rate("")), Gateway: true},
		{Name: "p50", Unit: "seconds", Expr: quantile("0.5"), Gateway: true},
		{Name: "p99", Unit: "seconds", Expr: quantile("0.99"), Gateway: true},
		{Name: "podsReady", Unit: "pods", Expr: fmt.Sprintf(`sum by (version) (berth_app_pods_ready{%s})`, pods)},
		{Name: "restarts", Unit: "restarts", Expr: fmt.Sprintf(`sum by (version) (berth_app_container_restarts{%s})`, pods)},
	}
}

// promDuration renders d as Prometheus seconds ("60s").
func promDuration(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
