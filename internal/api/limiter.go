package api

import (
	"sync"
	"time"

	"berth.dev/berth/internal/clock"
)

// LimiterOptions bound failed logins; zero fields take the defaults.
type LimiterOptions struct {
	PerUser int           // failures per user name within Window: 5
	PerIP   int           // failures per source address within Window: 20
	Window  time.Duration // 15 minutes
}

// Limiter counts failed logins per user name and per source address and
// refuses further attempts once either count reaches its limit within the
// window. It is safe for concurrent use.
type Limiter struct {
	clock clock.Clock
	opts  LimiterOptions
	mu    sync.Mutex
	fails map[string][]time.Time // "u:name" or "ip:addr" → failure times, oldest first
}

// maxKeys bounds the limiter's memory; past it the oldest state is dropped.
const maxKeys = 100_000

// NewLimiter returns a Limiter reading time from c.
func NewLimiter(c clock.Clock, o LimiterOptions) *Limiter {
	if o.PerUser <= 0 {
		o.PerUser = 5
	}
	if o.PerIP <= 0 {
		o.PerIP = 20
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	return &Limiter{clock: c, opts: o, fails: map[string][]time.Time{}}
}

// Check returns how long the caller must wait before trying to log in as
// user from ip; 0 means go ahead.
func (l *Limiter) Check(user, ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	return max(l.wait("u:"+user, l.opts.PerUser, now), l.wait("ip:"+ip, l.opts.PerIP, now))
}

func (l *Limiter) wait(key string, limit int, now time.Time) time.Duration {
	ts := l.prune(key, now)
	if len(ts) < limit {
		return 0
	}
	return ts[len(ts)-limit].Add(l.opts.Window).Sub(now)
}

func (l *Limiter) prune(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && !ts[i].Add(l.opts.Window).After(now) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = ts
	return ts
}

// Fail records a failed login.
func (l *Limiter) Fail(user, ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > maxKeys {
		l.fails = map[string][]time.Time{}
	}
	now := l.clock.Now()
	for _, k := range []string{"u:" + user, "ip:" + ip} {
		l.fails[k] = append(l.prune(k, now), now)
	}
}

// Succeed forgets the failures of user (not those of the address).
func (l *Limiter) Succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+user)
}
