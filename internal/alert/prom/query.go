package prom

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"berth.dev/berth/internal/slo"
)

// Querier answers SLOs' error-budget reads (slo.Querier) from a real
// Prometheus through client_golang's API client, one bounded instant
// query per read.
type Querier struct{ api v1.API }

var _ slo.Querier = Querier{}

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
