package api

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"berth.dev/berth/internal/clock"
)

func TestConcurrentAttemptsNeverPassTheLimit(t *testing.T) {
	t.Parallel()
	l := NewLimiter(clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), LimiterOptions{PerUser: 5, PerIP: 1000})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, wait := l.Begin("ann", fmt.Sprintf("10.0.0.%d", i)); wait == 0 {
				allowed.Add(1) // and fails: nothing calls Succeeded
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != 5 {
		t.Errorf("%d of 64 concurrent attempts allowed, want exactly the limit 5", got)
	}
}

func TestASucceededAttemptIsTakenBackAndAnAbandonedOneToo(t *testing.T) {
	t.Parallel()
	l := NewLimiter(clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), LimiterOptions{PerUser: 2, PerIP: 2})
	for range 10 {
		a, wait := l.Begin("ann", "10.0.0.1")
		if wait > 0 {
			t.Fatal("an attempt refused although every earlier one succeeded or was abandoned")
		}
		a.Abandon()
	}
	a, _ := l.Begin("ann", "10.0.0.1")
	a.Succeeded()
	if _, wait := l.Begin("ann", "10.0.0.1"); wait > 0 {
		t.Fatal("refused after a success")
	}
	if _, wait := l.Begin("ann", "10.0.0.1"); wait > 0 {
		t.Fatal("refused at the second failure of two allowed")
	}
	if _, wait := l.Begin("ann", "10.0.0.1"); wait == 0 {
		t.Fatal("a third failure allowed")
	}
}

func TestLimiterEvictsTheOldestKeysNotAll(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := NewLimiter(c, LimiterOptions{PerUser: 1, PerIP: 1000, MaxKeys: 100})
	l.Begin("victim", "10.9.9.9") // the victim's name is now at its limit
	for i := range 60 {           // 120 more keys: the oldest go
		c.Advance(time.Millisecond)
		l.Begin(fmt.Sprintf("guess%d", i), fmt.Sprintf("10.0.0.%d", i))
	}
	if got := l.keyCount(); got != 100 {
		t.Errorf("%d keys, want the bound 100", got)
	}
	if _, wait := l.Begin("guess59", "10.0.0.200"); wait == 0 {
		t.Error("the most recent user name was forgotten")
	}
	if _, wait := l.Begin("victim", "10.0.0.201"); wait > 0 {
		t.Error("the oldest user name is still tracked past the bound")
	}
}
