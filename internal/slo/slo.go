// Package slo holds Berth's service level objectives (issue #15): an
// availability or latency objective of one application in one environment
// over a rolling window, measured on the Berth gateway's metrics (the
// selectors of internal/analysis). An SLO is rendered into recording rules
// of its error ratio and the multi-window multi-burn-rate alerts of the
// Google SRE workbook, published in its project's Prometheus rule file
// with the project's alert rules (internal/alert/prom), so its alerts route
// to the project's receivers. Its error budget is read from Prometheus
// (Querier).
package slo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/resource"
)

// SLO kinds.
const (
	// Availability: Objective percent of the application's requests
	// through the Berth gateway are not answered 5xx.
	Availability = "availability"
	// Latency: Objective percent of its requests are answered within
	// Threshold (a bucket of the gateway's duration histogram).
	Latency = "latency"
)

// Bounds of an SLO.
const (
	DefaultSLOWindow  = 30 * 24 * time.Hour
	MinSLOWindow      = 24 * time.Hour
	MaxSLOWindow      = 90 * 24 * time.Hour
	MaxSLOsPerProject = 100
	// minBurnWindow is the shortest range a burn-rate window is scaled
	// down to: Prometheus needs scrapes inside it.
	minBurnWindow = time.Minute
)

// SLO is a service level objective of one application in one environment,
// measured on the Berth gateway's metrics over a rolling Window. Berth
// renders it into recording rules of its error ratio and the multi-window
// multi-burn-rate alerts of the Google SRE workbook, published with the
// project's alert rules (so they route to its receivers).
type SLO struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Application string `json:"application"`
	// Kind is availability or latency.
	Kind string `json:"kind"`
	// Objective is the percentage of good requests, such as 99.99.
	Objective float64 `json:"objective"`
	// Threshold is the latency a good request is answered within (kind
	// latency): one of the gateway's buckets, such as "250ms".
	Threshold string `json:"threshold,omitempty"`
	// Window is the rolling period the objective holds over (default 30d,
	// written in hours or days: "720h", "30d").
	Window          string    `json:"window,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Path is the SLO's resource path, as audit records name it.
func (s SLO) Path() string {
	return "tenants/" + s.Tenant + "/projects/" + s.Project + "/slos/" + s.Name
}

// Validate checks s's own fields, every bad one named by its JSON path.
func (s SLO) Validate() error {
	var errs resource.Errors
	errs.CheckName("tenant", s.Tenant)
	errs.CheckName("project", s.Project)
	errs.CheckName("name", s.Name)
	errs.CheckName("environment", s.Environment)
	errs.CheckName("application", s.Application)
	if !(s.Objective > 0 && s.Objective < 100) {
		errs.Add("objective", "must be a percentage between 0 and 100, both excluded, such as 99.9; got %v", s.Objective)
	}
	switch s.Kind {
	case Availability:
		if s.Threshold != "" {
			errs.Add("threshold", "an availability objective has no latency threshold")
		}
	case Latency:
		if _, err := latencyBucket(s.Threshold); err != nil {
			errs.Add("threshold", "%v", err)
		}
	default:
		errs.Add("kind", "must be availability or latency, got %q", s.Kind)
	}
	if s.Window != "" {
		d, err := ParseWindow(s.Window)
		switch {
		case err != nil:
			errs.Add("window", "%v", err)
		case d < MinSLOWindow || d > MaxSLOWindow:
			errs.Add("window", "must be between 1d and 90d, got %q", s.Window)
		case d%time.Hour != 0:
			errs.Add("window", "must be whole hours, got %q", s.Window)
		}
	}
	return errs.Err()
}

// ParseWindow reads a window in Go's durations or whole days ("30d").
func ParseWindow(w string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(w, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("must be a duration such as \"30d\" or \"720h\", got %q", w)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(w)
	if err != nil {
		return 0, fmt.Errorf("must be a duration such as \"30d\" or \"720h\", got %q", w)
	}
	return d, nil
}

// latencyBucket is threshold's bound in the gateway's histogram, as its le
// label writes it.
func latencyBucket(threshold string) (string, error) {
	var names []string
	d, err := time.ParseDuration(strings.TrimSpace(threshold))
	for _, b := range analysis.LatencyBuckets() {
		if err == nil && d.Seconds() == b {
			return strconv.FormatFloat(b, 'g', -1, 64), nil
		}
		names = append(names, time.Duration(b*float64(time.Second)).String())
	}
	return "", fmt.Errorf("must be one of the gateway's latency buckets (%s), got %q", strings.Join(names, ", "), threshold)
}

// window is s's window (validated).
func (s SLO) window() time.Duration {
	if s.Window == "" {
		return DefaultSLOWindow
	}
	d, _ := ParseWindow(s.Window)
	return d
}

// BurnAlert is one of the workbook's alerts: it fires while the error
// ratio over both Long and Short exceeds Factor times the error budget.
// The windows are the workbook's for a 30-day SLO, scaled to the SLO's.
type BurnAlert struct {
	Severity    string
	Long, Short time.Duration
	Factor      string
}

// burnAlerts are the workbook's four alerts for a 30-day window: two page
// (2 % of the budget in an hour, 5 % in six hours), two open a ticket
// (10 % in a day, 10 % in three days).
var burnAlerts = []BurnAlert{
	{alert.Critical, time.Hour, 5 * time.Minute, "14.4"},
	{alert.Critical, 6 * time.Hour, 30 * time.Minute, "6"},
	{alert.Warning, 24 * time.Hour, 2 * time.Hour, "3"},
	{alert.Warning, 72 * time.Hour, 6 * time.Hour, "1"},
}

// BurnAlerts returns s's four burn-rate alerts, their windows scaled by
// s's window over 30 days (rounded to whole seconds, at least a minute).
func (s SLO) BurnAlerts() []BurnAlert {
	scale := func(d time.Duration) time.Duration {
		v := time.Duration(float64(d) * float64(s.window()) / float64(DefaultSLOWindow)).Round(time.Second)
		return max(v, minBurnWindow)
	}
	out := make([]BurnAlert, len(burnAlerts))
	for i, b := range burnAlerts {
		out[i] = BurnAlert{Severity: b.Severity, Long: scale(b.Long), Short: scale(b.Short), Factor: b.Factor}
	}
	return out
}

// RatioMetric is the recorded error ratio of every SLO, labelled by its
// tenant, project, environment, app, slo and window (seconds, "3600s").
const RatioMetric = "berth:slo_error_ratio"

// ErrorRatio is the PromQL share of s's bad requests over the range w
// ("300s"), in place: 5xx answers, or answers slower than the threshold.
func (s SLO) ErrorRatio(place alert.Place, w string) string {
	subject := analysis.Subject{Cluster: place.Cluster, Namespace: place.Namespace, Application: s.Application}
	if s.Kind == Availability {
		return analysis.ErrorRatio(subject, w)
	}
	le, _ := latencyBucket(s.Threshold) // validated
	sel := analysis.Selector(subject)
	return fmt.Sprintf(`1 - sum(rate(berth_gateway_request_duration_seconds_bucket{%[1]s,le=%[2]q}[%[3]s])) / sum(rate(berth_gateway_request_duration_seconds_count{%[1]s}[%[3]s]))`,
		sel, le, w)
}

func (s SLO) labels() map[string]string {
	return map[string]string{"tenant": s.Tenant, "project": s.Project, "environment": s.Environment, "app": s.Application, "slo": s.Name}
}

func (s SLO) ratioSelector(w string) string {
	return fmt.Sprintf(`%s{tenant=%q,project=%q,environment=%q,app=%q,slo=%q,window=%q}`,
		RatioMetric, s.Tenant, s.Project, s.Environment, s.Application, s.Name, w)
}

// budget is the error budget as a PromQL expression: 1 - objective / 100.
func (s SLO) budget() string {
	return "(1 - " + strconv.FormatFloat(s.Objective, 'f', -1, 64) + " / 100)"
}

// Rules renders s in place: a recording rule of the error ratio per
// distinct window, then the page alert and the ticket alert.
func (s SLO) Rules(place alert.Place) []alert.PromRule {
	var out []alert.PromRule
	var seen []time.Duration
	record := func(d time.Duration) {
		if slices.Contains(seen, d) {
			return
		}
		seen = append(seen, d)
		w := seconds(d)
		l := s.labels()
		l["window"] = w
		out = append(out, alert.PromRule{Record: RatioMetric, Expr: s.ErrorRatio(place, w), Labels: l})
	}
	bas := s.BurnAlerts()
	for _, b := range bas {
		record(b.Long)
		record(b.Short)
	}
	for i, sev := range []string{alert.Critical, alert.Warning} {
		pair := func(b BurnAlert) string {
			th := b.Factor + " * " + s.budget()
			return fmt.Sprintf("(%s > %s and ignoring (window) %s > %s)", s.ratioSelector(seconds(b.Long)), th,
				s.ratioSelector(seconds(b.Short)), th)
		}
		name, what := s.Name+"-burn-page", "fast"
		if sev == alert.Warning {
			name, what = s.Name+"-burn-ticket", "steadily"
		}
		l := s.labels()
		l["rule"], l["severity"] = name, sev
		// One alert per SLO and severity, whichever pair fires: the window
		// label is aggregated away.
		expr := "max without (window) (" + pair(bas[2*i]) + " or " + pair(bas[2*i+1]) + ")"
		out = append(out, alert.PromRule{Alert: name, Expr: expr, Labels: l,
			Annotations: map[string]string{"summary": fmt.Sprintf("%s in %s: SLO %s (%s %v%% over %s) is burning its error budget %s",
				s.Application, s.Environment, s.Name, s.Kind, s.Objective, cmpWindow(s.Window), what)}})
	}
	return out
}

// seconds renders d as a PromQL range in seconds ("300s").
func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) + "s" }

func cmpWindow(w string) string {
	if w == "" {
		return "30d"
	}
	return w
}

// Budget is where an SLO's error budget stands at At.
type Budget struct {
	SLO       string  `json:"slo"`
	Kind      string  `json:"kind"`
	Objective float64 `json:"objective"`
	Window    string  `json:"window"`
	// ErrorRatio is the share of bad requests over the window (nil: no
	// requests in it).
	ErrorRatio *float64 `json:"errorRatio"`
	// Remaining is the share of the error budget left: 1 untouched, 0
	// spent, below 0 overspent (nil: no requests).
	Remaining *float64  `json:"remaining"`
	Query     string    `json:"query"`
	At        time.Time `json:"at"`
}

// Querier answers an instant PromQL query with one number (ok false: no
// data).
type Querier interface {
	Query(ctx context.Context, expr string, at time.Time) (v float64, ok bool, err error)
}

// Budget asks q for s's error ratio over its whole window at at, in place.
func (s SLO) Budget(ctx context.Context, q Querier, place alert.Place, at time.Time) (Budget, error) {
	b := Budget{SLO: s.Name, Kind: s.Kind, Objective: s.Objective, Window: cmpWindow(s.Window), At: at,
		Query: s.ErrorRatio(place, seconds(s.window()))}
	v, ok, err := q.Query(ctx, b.Query, at)
	if err != nil {
		return Budget{}, fmt.Errorf("error ratio of SLO %s: %w", s.Name, err)
	}
	if ok {
		allowed := (100 - s.Objective) / 100
		rem := 1 - v/allowed
		b.ErrorRatio, b.Remaining = &v, &rem
	}
	return b, nil
}

// ErrUnavailable: Prometheus did not answer as it should (503).
var ErrUnavailable = errors.New("prometheus is unavailable")
