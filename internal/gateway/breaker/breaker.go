// Package breaker is the gateway's circuit breaker, with resilience4j's
// semantics:
//
//   - CLOSED: calls pass; their outcomes fill a time-based sliding window of
//     Window split into ten buckets. Once the window holds at least
//     MinimumRequests calls, the breaker OPENs when the failure ratio reaches
//     FailureRatio or the ratio of calls slower than SlowCallDuration reaches
//     SlowCallRatio.
//   - OPEN: calls are refused for OpenFor, then the breaker is HALF-OPEN.
//   - HALF-OPEN: HalfOpenProbes calls pass, others are refused. When all
//     probes have finished, the same ratios decide: OPEN again, or CLOSED with
//     an empty window.
//
// Sentinel's "slow request ratio" and "error ratio" strategies map onto the
// same settings (Sentinel lets one probe through when half-open:
// HalfOpenProbes 1). Outcomes of calls that started in an earlier state are
// ignored.
package breaker

import (
	"sync"
	"time"
)

// State is a breaker's state.
type State int

// The breaker's states.
const (
	Closed State = iota
	Open
	HalfOpen
)

func (s State) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

// Settings configure a breaker. Zero values take the defaults noted.
type Settings struct {
	Window           time.Duration // default 10s
	MinimumRequests  int           // default 10
	FailureRatio     float64       // 0 disables
	SlowCallDuration time.Duration
	SlowCallRatio    float64       // 0 disables
	OpenFor          time.Duration // default 30s
	HalfOpenProbes   int           // default 5
}

func (s Settings) withDefaults() Settings {
	if s.Window <= 0 {
		s.Window = 10 * time.Second
	}
	if s.MinimumRequests <= 0 {
		s.MinimumRequests = 10
	}
	if s.OpenFor <= 0 {
		s.OpenFor = 30 * time.Second
	}
	if s.HalfOpenProbes <= 0 {
		s.HalfOpenProbes = 5
	}
	return s
}

const buckets = 10

type bucket struct {
	start             time.Time
	calls, fail, slow int
}

type tally struct{ calls, fail, slow int }

// Breaker is one circuit breaker, safe for concurrent use.
type Breaker struct {
	s   Settings
	now func() time.Time

	mu       sync.Mutex
	state    State
	gen      uint64 // bumped on every transition
	window   [buckets]bucket
	openedAt time.Time
	issued   int   // probes let through while half-open
	probes   tally // finished probes
}

// New returns a closed breaker reading time from now.
func New(s Settings, now func() time.Time) *Breaker {
	return &Breaker{s: s.withDefaults(), now: now}
}

// State returns the current state, moving OPEN to HALF-OPEN if OpenFor has
// passed.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.now())
	return b.state
}

// Allow asks to make a call. If it is refused, ok is false. Otherwise the
// caller must call done exactly once with whether the call failed and how
// long it took.
func (b *Breaker) Allow() (done func(failed bool, took time.Duration), ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(b.now())
	switch b.state {
	case Open:
		return nil, false
	case HalfOpen:
		if b.issued >= b.s.HalfOpenProbes {
			return nil, false
		}
		b.issued++
	}
	gen := b.gen
	return func(failed bool, took time.Duration) { b.record(gen, failed, took) }, true
}

func (b *Breaker) advance(now time.Time) {
	if b.state == Open && !now.Before(b.openedAt.Add(b.s.OpenFor)) {
		b.transition(HalfOpen, now)
	}
}

func (b *Breaker) transition(to State, now time.Time) {
	b.state = to
	b.gen++
	b.issued = 0
	b.probes = tally{}
	b.window = [buckets]bucket{}
	if to == Open {
		b.openedAt = now
	}
}

func (b *Breaker) record(gen uint64, failed bool, took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.advance(now)
	if gen != b.gen {
		return
	}
	slow := b.s.SlowCallRatio > 0 && took >= b.s.SlowCallDuration
	switch b.state {
	case Closed:
		bk := b.bucketAt(now)
		bk.calls++
		bk.fail += btoi(failed)
		bk.slow += btoi(slow)
		t := b.sum(now)
		if t.calls >= b.s.MinimumRequests && b.tripped(t) {
			b.transition(Open, now)
		}
	case HalfOpen:
		b.probes.calls++
		b.probes.fail += btoi(failed)
		b.probes.slow += btoi(slow)
		if b.probes.calls < b.s.HalfOpenProbes {
			return
		}
		if b.tripped(b.probes) {
			b.transition(Open, now)
		} else {
			b.transition(Closed, now)
		}
	}
}

func (b *Breaker) tripped(t tally) bool {
	if t.calls == 0 {
		return false
	}
	n := float64(t.calls)
	return (b.s.FailureRatio > 0 && float64(t.fail)/n >= b.s.FailureRatio) ||
		(b.s.SlowCallRatio > 0 && float64(t.slow)/n >= b.s.SlowCallRatio)
}

func (b *Breaker) width() time.Duration { return b.s.Window / buckets }

func (b *Breaker) bucketAt(now time.Time) *bucket {
	w := b.width()
	start := now.Truncate(w)
	bk := &b.window[(start.UnixNano()/int64(w))%buckets]
	if !bk.start.Equal(start) {
		*bk = bucket{start: start}
	}
	return bk
}

func (b *Breaker) sum(now time.Time) tally {
	var t tally
	oldest := now.Truncate(b.width()).Add(-b.s.Window + b.width())
	for _, bk := range b.window {
		if bk.start.Before(oldest) {
			continue
		}
		t.calls += bk.calls
		t.fail += bk.fail
		t.slow += bk.slow
	}
	return t
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}
