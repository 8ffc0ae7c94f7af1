package leader

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// ErrLost is returned by an Elector's Run when the term ended without ctx
// ending: the lease could not be renewed in time, or another replica took
// it. The replica should exit and be started again.
var ErrLost = errors.New("leadership lost")

// Lock is a lease with an expiry that replicas take in turn.
// internal/store implements it as a row of PostgreSQL whose expiry is the
// database's clock.
type Lock interface {
	// Acquire takes the lease for ttl when nobody holds it or its holder's
	// lease has expired, starting a new term (a greater epoch); ok is false
	// while another replica holds it.
	Acquire(ctx context.Context, ttl time.Duration) (t Term, ok bool, err error)
	// Renew extends t's lease to ttl from now; ok is false when t is no
	// longer the lease's term.
	Renew(ctx context.Context, t Term, ttl time.Duration) (ok bool, err error)
	// Release ends t's lease at once, so that another replica takes over
	// without waiting for it to expire.
	Release(ctx context.Context, t Term) error
}

// LeaseElector elects through a Lock. It tries to acquire the lease every
// TTL/4; once leading it renews every TTL/4 and ends the term itself when
// no renewal succeeded for 4/5 of TTL, before the lease can expire in the
// database, so that its controllers have stopped by the time another
// replica may take over. Its clock is the monotonic one of this process;
// the lease's expiry is the database's.
type LeaseElector struct {
	Lock Lock
	TTL  time.Duration
	Log  *slog.Logger
}

// Run implements Elector.
func (e *LeaseElector) Run(ctx context.Context, lead func(context.Context, Term)) error {
	t, deadline, ok := e.acquire(ctx)
	if !ok {
		return nil
	}
	e.Log.Info("leading", "lease", t.Name, "epoch", t.Epoch)
	termCtx, end := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); lead(termCtx, t) }()
	lost := e.keep(termCtx, t, deadline, done)
	end()
	<-done
	if !lost {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.TTL/4)
		defer cancel()
		if err := e.Lock.Release(rctx, t); err != nil {
			e.Log.Warn("release lease", "lease", t.Name, "err", err)
		}
		e.Log.Info("stepped down", "lease", t.Name, "epoch", t.Epoch)
		return nil
	}
	e.Log.Error("leadership lost", "lease", t.Name, "epoch", t.Epoch)
	return ErrLost
}

// every is the pace of acquiring and renewing.
func (e *LeaseElector) every() time.Duration { return e.TTL / 4 }

// acquire tries until it leads (ok) or ctx ends. deadline is when the
// term ends unless renewed.
func (e *LeaseElector) acquire(ctx context.Context) (t Term, deadline time.Time, ok bool) {
	tick := time.NewTicker(e.every())
	defer tick.Stop()
	for {
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, e.every())
		t, ok, err := e.Lock.Acquire(actx, e.TTL)
		cancel()
		switch {
		case err == nil && ok:
			return t, e.until(start), true
		case err != nil && ctx.Err() == nil:
			e.Log.Warn("acquire lease", "err", err)
		}
		select {
		case <-ctx.Done():
			return Term{}, time.Time{}, false
		case <-tick.C:
		}
	}
}

// until is when a term renewed at start ends locally: 4/5 of TTL later.
func (e *LeaseElector) until(start time.Time) time.Time { return start.Add(e.TTL - e.TTL/5) }

// keep renews t until ctx ends or lead returns (lost false), or until the
// term is lost (true): renewals failed until deadline, or another replica
// took the lease.
func (e *LeaseElector) keep(ctx context.Context, t Term, deadline time.Time, done <-chan struct{}) (lost bool) {
	tick := time.NewTicker(e.every())
	defer tick.Stop()
	for {
		wait := time.NewTimer(time.Until(deadline))
		select {
		case <-ctx.Done():
			wait.Stop()
			return false
		case <-done:
			wait.Stop()
			return false
		case <-wait.C:
			return true
		case <-tick.C:
			wait.Stop()
		}
		start := time.Now()
		rctx, cancel := context.WithDeadline(ctx, deadline)
		ok, err := e.Lock.Renew(rctx, t, e.TTL)
		cancel()
		switch {
		case err == nil && ok:
			deadline = e.until(start)
		case err == nil:
			return true // another replica holds the lease
		case ctx.Err() == nil:
			e.Log.Warn("renew lease", "lease", t.Name, "err", err)
		}
	}
}
