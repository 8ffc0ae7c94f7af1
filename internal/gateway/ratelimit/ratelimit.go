// Package ratelimit is the gateway's per-route rate limiter: token buckets
// (golang.org/x/time/rate), one per route or one per value of a chosen
// header (e.g. one per branch), with per-value overrides.
package ratelimit

import (
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxKeys bounds the number of per-value buckets of one limiter. Values
// first seen after that share a single overflow bucket, so a client
// inventing header values cannot grow memory without bound.
const MaxKeys = 10_000

// Rate is a bucket's refill rate and capacity.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Spec describes a limiter.
type Spec struct {
	Rate Rate
	// ByHeader, if set, gives each value of this header its own bucket;
	// requests without the header share one bucket.
	ByHeader string
	// Overrides gives chosen header values their own rate. Kept, not copied.
	Overrides map[string]Rate
}

// Headers is what the limiter needs of a request.
type Headers interface {
	Get(name string) string
}

// Limiter decides whether a request may pass. It is safe for concurrent use.
type Limiter struct {
	spec     Spec
	now      func() time.Time
	single   *rate.Limiter
	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	overflow *rate.Limiter
}

// New returns a limiter for spec reading time from now (time.Now in
// production, a fake clock in tests).
func New(spec Spec, now func() time.Time) *Limiter {
	l := &Limiter{spec: spec, now: now}
	if spec.ByHeader == "" {
		l.single = newBucket(spec.Rate, now())
		return l
	}
	l.buckets = map[string]*rate.Limiter{}
	l.overflow = newBucket(spec.Rate, now())
	return l
}

func newBucket(r Rate, now time.Time) *rate.Limiter {
	lim := rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
	lim.AllowN(now, 0) // start the bucket full at now, not at the zero time
	return lim
}

// Allow takes a token for a request with headers h. When none is left it
// returns false and how long until one will be: the Retry-After.
func (l *Limiter) Allow(h Headers) (bool, time.Duration) {
	now := l.now()
	lim := l.single
	if lim == nil {
		lim = l.bucket(h.Get(l.spec.ByHeader), now)
	}
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lim, ok := l.buckets[key]; ok {
		return lim
	}
	if len(l.buckets) >= MaxKeys {
		return l.overflow
	}
	r, ok := l.spec.Overrides[key]
	if !ok {
		r = l.spec.Rate
	}
	lim := newBucket(r, now)
	// A copy: key may be a substring of a whole request head.
	l.buckets[strings.Clone(key)] = lim
	return lim
}

// RetryAfterSeconds renders d as the whole seconds of a Retry-After header,
// rounded up and at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
