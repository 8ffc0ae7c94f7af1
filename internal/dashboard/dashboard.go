// Package dashboard reads an application's dashboard (F13, issue #15):
// its RED metrics per version — request rate, error ratio, p50 and p99
// latency from the Berth gateway's series, pods ready and container
// restarts from Berth's pod metrics — over a time range at a step, so a
// gray version is seen beside the stable one.
//
// Berth computes nothing itself: every panel is one PromQL range query
// (Queries) that Prometheus answers through the Querier port
// (internal/alert/prom implements it with client_golang's API client).
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"berth.dev/berth/internal/resource"
)

// ErrUnavailable: Prometheus did not answer as it should (503).
var ErrUnavailable = errors.New("prometheus is unavailable")

// Bounds on what one read may ask of Prometheus.
const (
	// MaxPoints is the most points a series may have: (end-start)/step+1.
	MaxPoints = 1000
	// MaxRange is the longest range a dashboard covers.
	MaxRange = 31 * 24 * time.Hour
	// MinStep is the finest step; steps are whole seconds.
	MinStep = time.Second
	// MaxSeries is the most series one panel shows (versions and tracks).
	MaxSeries = 50
	// DefaultPoints is how many points a range is cut into when no step
	// is asked for.
	DefaultPoints = 120
)

// Range is the time range a dashboard covers and the step between its
// points.
type Range struct {
	Start time.Time
	End   time.Time
	Step  time.Duration
}

// DefaultStep is the step that cuts the range start..end into about
// DefaultPoints points, in whole seconds, at least MinStep.
func DefaultStep(start, end time.Time) time.Duration {
	return max((end.Sub(start) / DefaultPoints).Truncate(time.Second), MinStep)
}

// Validate returns every field error of r at once: start before end,
// within MaxRange, a whole-second step of at least MinStep, at most
// MaxPoints points.
func (r Range) Validate() error {
	var errs resource.Errors
	switch {
	case r.Start.IsZero():
		errs.Add("start", "is required")
	case r.End.IsZero():
		errs.Add("end", "is required")
	case !r.Start.Before(r.End):
		errs.Add("start", "must be before end (%s), got %s", r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	case r.End.Sub(r.Start) > MaxRange:
		errs.Add("start", "the range may be at most %s, got %s", MaxRange, r.End.Sub(r.Start))
	}
	switch {
	case r.Step < MinStep:
		errs.Add("step", "must be at least %s, got %s", MinStep, r.Step)
	case r.Step%time.Second != 0:
		errs.Add("step", "must be whole seconds, got %s", r.Step)
	case errs.Err() == nil && r.Points() > MaxPoints:
		errs.Add("step", "the range at step %s has %d points, at most %d: widen the step", r.Step, r.Points(), MaxPoints)
	}
	return errs.Err()
}

// Points is how many points each series of r has at most.
func (r Range) Points() int { return int(r.End.Sub(r.Start)/r.Step) + 1 }

// Window is the range each point's rate looks back over: the step, at
// least a minute (four scrapes at Prometheus's default interval), so
// that consecutive points overlap rather than miss requests.
func (r Range) Window() time.Duration { return max(r.Step, time.Minute) }

// Subject is the application a dashboard is of, and where it runs.
type Subject struct {
	Tenant, Project, Environment, Application string
	Cluster, Namespace                        string
}

// Point is one value of a series at a time.
type Point struct {
	Time  time.Time `json:"t"`
	Value float64   `json:"v"`
}

// Series is one version's values of a panel. Gateway panels know the
// version as the gateway's track (stable, gray, none), pod panels by its
// name; Read fills in the other side where the deployment or its gray
// plan tell it.
type Series struct {
	// Version is the application version's name ("" when the gateway's
	// track is not known to be a version).
	Version string `json:"version"`
	// Track is "stable" or "gray" ("none" for requests the gateway
	// answered without a version), "" when the version is neither.
	Track  string  `json:"track,omitempty"`
	Points []Point `json:"points"`
}

// Panel is one metric of the dashboard, per version.
type Panel struct {
	// Name is requests, errorRatio, p50, p99, podsReady or restarts.
	Name string `json:"name"`
	// Unit is what the values count: requests/s, ratio, seconds, pods,
	// restarts.
	Unit string `json:"unit"`
	// Query is the PromQL Prometheus answered.
	Query  string   `json:"query"`
	Series []Series `json:"series"`
}

// Dashboard is an application's panels over a range.
type Dashboard struct {
	Tenant      string    `json:"tenant"`
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Application string    `json:"application"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	// Step and Window are Prometheus durations ("30s").
	Step   string `json:"step"`
	Window string `json:"window"`
	// Stable and Gray are the versions on the gateway's tracks, when
	// known (Gray only while a gray plan runs).
	Stable string  `json:"stable,omitempty"`
	Gray   string  `json:"gray,omitempty"`
	Panels []Panel `json:"panels"`
}

// Querier answers range queries: one Series per distinct value of the
// "version" label of the answer (Series.Version holds it, Track is left
// empty), points without a value (NaN, infinities) left out.
type Querier interface {
	QueryRange(ctx context.Context, expr string, r Range) ([]Series, error)
}

// Tracks names the versions on the gateway's tracks.
type Tracks struct{ Stable, Gray string }

// Read asks q for each panel of s over r. r must be valid (Validate).
func Read(ctx context.Context, q Querier, s Subject, r Range, t Tracks) (Dashboard, error) {
	d := Dashboard{Tenant: s.Tenant, Project: s.Project, Environment: s.Environment, Application: s.Application,
		Start: r.Start.UTC(), End: r.End.UTC(), Step: promDuration(r.Step), Window: promDuration(r.Window()),
		Stable: t.Stable, Gray: t.Gray, Panels: []Panel{}}
	for _, pq := range Queries(s, r.Window()) {
		series, err := q.QueryRange(ctx, pq.Expr, r)
		if err != nil {
			return Dashboard{}, fmt.Errorf("panel %s: %w", pq.Name, err)
		}
		if len(series) > MaxSeries {
			series = series[:MaxSeries]
		}
		for i := range series {
			series[i] = t.name(series[i], pq.Gateway)
		}
		d.Panels = append(d.Panels, Panel{Name: pq.Name, Unit: pq.Unit, Query: pq.Expr, Series: series})
	}
	return d, nil
}

// name fills in the side of s's identity its source does not know: a
// gateway series' version from its track, a pod series' track from its
// version.
func (t Tracks) name(s Series, gateway bool) Series {
	if gateway {
		s.Track, s.Version = s.Version, map[string]string{"stable": t.Stable, "gray": t.Gray}[s.Version]
		return s
	}
	switch {
	case s.Version != "" && s.Version == t.Gray:
		s.Track = "gray"
	case s.Version != "" && s.Version == t.Stable:
		s.Track = "stable"
	}
	return s
}
