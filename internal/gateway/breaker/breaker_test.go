package breaker_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway/breaker"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func call(t *testing.T, b *breaker.Breaker, failed bool, took time.Duration) bool {
	t.Helper()
	done, ok := b.Allow()
	if ok {
		done(failed, took)
	}
	return ok
}

func TestBreakerStates(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1000, 0)}
	b := breaker.New(breaker.Settings{Window: 10 * time.Second, MinimumRequests: 4, FailureRatio: 0.5,
		OpenFor: 5 * time.Second, HalfOpenProbes: 2}, clk.Now)

	call(t, b, true, 0)
	call(t, b, true, 0)
	call(t, b, true, 0)
	if b.State() != breaker.Closed {
		t.Fatal("opened before the minimum number of requests")
	}
	call(t, b, false, 0) // 3 failures of 4: 75% >= 50%
	if b.State() != breaker.Open || call(t, b, false, 0) {
		t.Fatal("did not open and refuse calls")
	}
	clk.Advance(5 * time.Second)
	if b.State() != breaker.HalfOpen {
		t.Fatalf("after OpenFor: %v, want half-open", b.State())
	}
	d1, ok1 := b.Allow()
	d2, ok2 := b.Allow()
	if _, ok3 := b.Allow(); !ok1 || !ok2 || ok3 {
		t.Fatalf("half-open let through %v %v %v, want exactly 2 probes", ok1, ok2, ok3)
	}
	d1(true, 0)
	d2(false, 0) // 50% of probes failed: open again
	if b.State() != breaker.Open {
		t.Fatalf("after failed probes: %v, want open", b.State())
	}
	clk.Advance(5 * time.Second)
	call(t, b, false, 0)
	call(t, b, false, 0)
	if b.State() != breaker.Closed {
		t.Fatalf("after good probes: %v, want closed", b.State())
	}
}

func TestBreakerWindowForgetsOldCalls(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1000, 0)}
	b := breaker.New(breaker.Settings{Window: 10 * time.Second, MinimumRequests: 4, FailureRatio: 0.5}, clk.Now)
	for range 3 {
		call(t, b, true, 0)
	}
	clk.Advance(11 * time.Second) // the failures leave the window
	for range 3 {
		call(t, b, false, 0)
	}
	call(t, b, true, 0)
	if b.State() != breaker.Closed {
		t.Errorf("old failures still counted: %v", b.State())
	}
}

func TestBreakerSlowCalls(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1000, 0)}
	b := breaker.New(breaker.Settings{MinimumRequests: 2, SlowCallDuration: time.Second, SlowCallRatio: 0.75}, clk.Now)
	call(t, b, false, 2*time.Second)
	call(t, b, false, 999*time.Millisecond)
	if b.State() != breaker.Closed {
		t.Fatal("opened with half the calls slow and a ratio of 0.75")
	}
	call(t, b, false, time.Second)
	call(t, b, false, 3*time.Second)
	if b.State() == breaker.Closed {
		t.Fatal("three slow calls of four did not open the breaker")
	}
}

func TestBreakerIgnoresCallsFromAnEarlierState(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1000, 0)}
	b := breaker.New(breaker.Settings{MinimumRequests: 1, FailureRatio: 1, OpenFor: time.Second, HalfOpenProbes: 1}, clk.Now)
	late, _ := b.Allow()
	call(t, b, true, 0) // opens
	clk.Advance(time.Second)
	call(t, b, false, 0) // probe closes
	late(true, 0)        // a call from before the opening finishes now
	if b.State() != breaker.Closed {
		t.Errorf("a stale outcome changed the state: %v", b.State())
	}
}

func TestSetKeepsOneBreakerPerValueAndBoundsThem(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Unix(1000, 0)}
	s := breaker.NewSet(breaker.Settings{MinimumRequests: 1, FailureRatio: 1}, "X-Org-Branch", clk.Now)
	h := func(v string) http.Header { return http.Header{"X-Org-Branch": {v}} }
	call(t, s.For(h("0101")), true, 0)
	if s.For(h("0101")).State() != breaker.Open || s.For(h("0102")).State() != breaker.Closed {
		t.Error("branches share a breaker")
	}
	for i := range breaker.MaxKeys + 10 {
		s.For(h(strconv.Itoa(i)))
	}
	if s.For(h("new-a")) != s.For(h("new-b")) {
		t.Error("values beyond MaxKeys do not share the overflow breaker")
	}
}
