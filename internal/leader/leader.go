// Package leader elects the one replica of `berth server` that runs the
// controllers when several share a database. Every replica serves the API,
// the console and the gateway stream; only the leader acts on clusters.
//
// A term of leadership has an epoch, a number that grows with every new
// leader. The leader's transactions that act on clusters check, inside the
// transaction, that the epoch recorded in the database is still theirs
// (Store.CheckLease, a fencing token): a deposed leader that has not yet
// noticed cannot commit. See docs/adr/0016-high-availability.md.
package leader

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrFenced is returned by a transaction of a leader whose term has ended:
// another replica leads now, and nothing of the transaction is written.
var ErrFenced = errors.New("leadership lost: another replica leads")

// Term is one replica's term of leadership of the lease Name.
type Term struct {
	Name  string
	Epoch int64
	// TTL is the lease's duration (zero: unbounded). A transaction of the
	// term that stays idle for longer is ended by the database: it belongs
	// to a process that stalled (frozen, cut off) while holding the lease
	// row locked, which would otherwise keep every other replica from
	// taking over for as long as the database believes its connection.
	TTL time.Duration
}

// Store checks a term inside a transaction. internal/store implements it.
type Store interface {
	// CheckLease returns ErrFenced unless t's epoch is the lease's current
	// one; the lease cannot change hands until the transaction ends.
	CheckLease(ctx context.Context, t Term) error
}

// Elector runs for leadership. Run calls lead once this replica leads,
// with a context that ends when the term ends (lost, or ctx done), and
// returns once lead has returned and the term has ended, or when ctx ends
// before it led. An Elector leads at most once: a replica whose term ended
// is restarted to run again (docs/adr/0016-high-availability.md).
type Elector interface {
	Run(ctx context.Context, lead func(ctx context.Context, t Term)) error
}

// Always is the Elector of a replica that is alone by construction (an
// embedded SQLite database): it leads at once, until ctx ends, with no
// fencing (epoch 0).
type Always struct{}

// Run calls lead at once.
func (Always) Run(ctx context.Context, lead func(context.Context, Term)) error {
	lead(ctx, Term{})
	return nil
}

// State is what a replica knows of its leadership, for /readyz and
// /metrics. The zero State is a follower that never led.
type State struct {
	leading     atomic.Bool
	epoch       atomic.Int64
	transitions atomic.Int64
}

// Set records that this replica leads (in term t) or no longer does.
func (s *State) Set(leading bool, t Term) {
	s.epoch.Store(t.Epoch)
	if s.leading.Swap(leading) != leading {
		s.transitions.Add(1)
	}
}

// Leading reports whether this replica leads now.
func (s *State) Leading() bool { return s.leading.Load() }

// Epoch is the epoch of the current or last term.
func (s *State) Epoch() int64 { return s.epoch.Load() }

// Transitions counts how often this replica became or stopped being the
// leader.
func (s *State) Transitions() int64 { return s.transitions.Load() }

// Role is "leader" or "follower".
func (s *State) Role() string {
	if s.Leading() {
		return "leader"
	}
	return "follower"
}
