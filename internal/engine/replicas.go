package engine

import (
	"context"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/platform"
)

// Peers carries changes between the replicas sharing a database:
// internal/store implements it with PostgreSQL NOTIFY and LISTEN.
type Peers interface {
	// Notify sends payloads to every replica that listens.
	Notify(ctx context.Context, payloads []string) error
	// Listen receives what Notify sent until ctx ends, calling connected
	// after each (re)connection and failed when a connection ends.
	Listen(ctx context.Context, receive func(string), connected func(), failed func(error))
}

// fenced is the Transactor of the singletons that act on clusters: each
// read-write transaction first checks, inside itself, that this replica's
// term is still the lease's current one (leader.Store.CheckLease), so a
// deposed leader that has not yet noticed commits nothing. Outside a term
// it refuses every write.
type fenced struct {
	platform.Transactor
	term atomic.Pointer[leader.Term]
}

// InTx implements platform.Transactor.
func (f *fenced) InTx(ctx context.Context, fn func(platform.Tx) error) error {
	t := f.term.Load()
	if t == nil {
		return leader.ErrFenced
	}
	if t.Name == "" { // leader.Always: alone by construction
		return f.Transactor.InTx(ctx, fn)
	}
	return f.Transactor.InTx(ctx, func(tx platform.Tx) error {
		if err := tx.CheckLease(ctx, *t); err != nil {
			return err
		}
		return fn(tx)
	})
}

// leadershipMetrics are berth_leader and berth_leader_transitions_total.
func leadershipMetrics(s *leader.State) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "berth_leader",
			Help: "1 while this replica leads (runs the controllers), 0 while it follows."},
			func() float64 {
				if s.Leading() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "berth_leader_transitions_total",
			Help: "How often this replica became or stopped being the leader."},
			func() float64 { return float64(s.Transitions()) }),
	}
}
