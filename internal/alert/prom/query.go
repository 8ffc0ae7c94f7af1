package prom

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"berth.dev/berth/internal/dashboard"
	"berth.dev/berth/internal/slo"
)

// Querier answers SLOs' error-budget reads (slo.Querier) and
// applications' dashboards (dashboard.Querier) from a real Prometheus
// through client_golang's API client, each query bounded in time.
type Querier struct{ api v1.API }

var (
	_ slo.Querier       = Querier{}
	_ dashboard.Querier = Querier{}
)

// queryTimeout bounds one query.
const queryTimeout = 10 * time.Second

// NewQuerier returns a Querier asking the Prometheus at url.
func NewQuerier(url string) (Querier, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return Querier{}, fmt.Errorf("prometheus client for %s: %w", url, err)
	}
	return Querier{api: v1.NewAPI(c)}, nil
}

// Query implements slo.Querier: the one sample of a vector answer (none:
// no data; more than one, or NaN: an error).
func (q Querier) Query(ctx context.Context, expr string, at time.Time) (float64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, _, _, err := q.api.Query(ctx, expr, at, v1.WithTimeout(queryTimeout))
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", slo.ErrUnavailable, err)
	}
	vec, ok := v.(model.Vector)
	switch {
	case !ok:
		return 0, false, fmt.Errorf("query prometheus: a %s, not a vector", v.Type())
	case len(vec) == 0:
		return 0, false, nil
	case len(vec) > 1:
		return 0, false, fmt.Errorf("query prometheus: %d series, want one", len(vec))
	}
	f := float64(vec[0].Value)
	if math.IsNaN(f) {
		return 0, false, nil
	}
	return f, true, nil
}

// QueryRange implements dashboard.Querier: one series per value of the
// answer's version label, in Prometheus's order, NaN and infinite values
// left out.
func (q Querier) QueryRange(ctx context.Context, expr string, r dashboard.Range) ([]dashboard.Series, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, _, _, err := q.api.QueryRange(ctx, expr, v1.Range{Start: r.Start, End: r.End, Step: r.Step}, v1.WithTimeout(queryTimeout))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", dashboard.ErrUnavailable, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("query prometheus: a %s, not a matrix", v.Type())
	}
	out := make([]dashboard.Series, 0, len(m))
	for _, ss := range m {
		s := dashboard.Series{Version: string(ss.Metric["version"]), Points: make([]dashboard.Point, 0, len(ss.Values))}
		for _, p := range ss.Values {
			f := float64(p.Value)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			s.Points = append(s.Points, dashboard.Point{Time: p.Timestamp.Time().UTC(), Value: f})
		}
		out = append(out, s)
	}
	return out, nil
}
