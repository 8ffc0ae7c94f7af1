package leader_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"berth.dev/berth/internal/leader"
)

// unreachable is a lock whose database went away after the first
// acquisition: every renewal fails.
type unreachable struct{ released atomic.Int32 }

func (*unreachable) Acquire(context.Context, time.Duration) (leader.Term, bool, error) {
	return leader.Term{Name: "controllers", Epoch: 7}, true, nil
}

func (*unreachable) Renew(context.Context, leader.Term, time.Duration) (bool, error) {
	return false, errors.New("connection refused")
}

func (u *unreachable) Release(context.Context, leader.Term) error { u.released.Add(1); return nil }

func TestATermWhoseRenewalsFailEndsAsLost(t *testing.T) {
	lock := &unreachable{}
	e := &leader.LeaseElector{Lock: lock, TTL: time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var led leader.Term
	err := e.Run(t.Context(), func(ctx context.Context, term leader.Term) {
		led = term
		<-ctx.Done() // the term ends by itself: nobody cancels Run's context
	})
	if !errors.Is(err, leader.ErrLost) {
		t.Fatalf("Run = %v, want leader.ErrLost", err)
	}
	if led.Epoch != 7 {
		t.Errorf("led in term %+v, want epoch 7", led)
	}
	if n := lock.released.Load(); n != 0 {
		t.Errorf("a lost term was released %d times: it is no longer this replica's", n)
	}
}

func TestStateCountsTransitions(t *testing.T) {
	var s leader.State
	if s.Role() != "follower" || s.Transitions() != 0 {
		t.Fatalf("zero State: %s, %d transitions", s.Role(), s.Transitions())
	}
	s.Set(true, leader.Term{Epoch: 3})
	s.Set(true, leader.Term{Epoch: 3})
	if s.Role() != "leader" || s.Epoch() != 3 || s.Transitions() != 1 {
		t.Errorf("after leading: %s, epoch %d, %d transitions; want leader, 3, 1", s.Role(), s.Epoch(), s.Transitions())
	}
	s.Set(false, leader.Term{Epoch: 3})
	if s.Role() != "follower" || s.Transitions() != 2 {
		t.Errorf("after stepping down: %s, %d transitions; want follower, 2", s.Role(), s.Transitions())
	}
}
