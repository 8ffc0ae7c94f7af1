package api

import (
	"net/http"
	"time"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/dashboard"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
)

func (a *API) registerDashboards() {
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/metrics",
		Summary: "Read the application's dashboard from Prometheus: request rate, error ratio, p50 and p99 latency per version " +
			"through the gateway, pods ready and restarts per version; since (a duration before end, default 1h) or start, " +
			"end (default now), step (default a 120th of the range)",
		Query: []string{"since", "start", "end", "step"}, Response: "AppDashboard"}, a.appDashboard)
}

func (a *API) appDashboard(w http.ResponseWriter, r *http.Request) error {
	k := deploy.Key{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"), Application: r.PathValue("app"), Environment: r.PathValue("environment")}
	if err := a.authorize(r, authz.ApplicationRead, authz.ProjectScope(k.Tenant, k.Project)); err != nil {
		return err
	}
	rg, err := dashboardRange(r, a.clock.Now())
	if err != nil {
		return err
	}
	out, err := a.p.AppDashboard(r.Context(), a.caller(r), k, rg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// dashboardRange reads the range of a dashboard from the query string:
// end an RFC 3339 time (default now); start one too, or since a duration
// before end (default 1h); step a duration (default DefaultStep). The
// range itself is checked by the application layer.
func dashboardRange(r *http.Request, now time.Time) (dashboard.Range, error) {
	v := r.URL.Query()
	var errs resource.Errors
	at := func(name string, def time.Time) time.Time {
		s := v.Get(name)
		if s == "" {
			return def
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			errs.Add(name, "must be an RFC 3339 time, got %q", s)
		}
		return t
	}
	span := func(name string, def time.Duration) time.Duration {
		s := v.Get(name)
		if s == "" {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			errs.Add(name, "must be a positive duration (30s, 15m, 1h), got %q", s)
		}
		return d
	}
	rg := dashboard.Range{End: at("end", now)}
	switch {
	case v.Get("start") != "" && v.Get("since") != "":
		errs.Add("since", "give since or start, not both")
	case v.Get("start") != "":
		rg.Start = at("start", time.Time{})
	default:
		rg.Start = rg.End.Add(-span("since", time.Hour))
	}
	rg.Step = span("step", dashboard.DefaultStep(rg.Start, rg.End))
	return rg, errs.Err()
}
