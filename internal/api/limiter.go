package api

import (
	"container/list"
	"slices"
	"sync"
	"time"

	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
)

// LimiterOptions bound failed logins; zero fields take the defaults.
type LimiterOptions struct {
	PerUser int           // failures per user name within Window: 5
	PerIP   int           // failures per source address within Window: 20
	Window  time.Duration // 15 minutes
	// MaxKeys bounds the user names and addresses tracked (100 000); past
	// it the least recently failed are forgotten first.
	MaxKeys int
}

// Limiter counts failed logins per user name and per source address and
// refuses further attempts once either count reaches its limit within the
// window. An attempt is counted when it begins, in the same critical
// section as the check, and taken back when it succeeds: concurrent
// attempts cannot all pass the check before any of them is counted. It is
// safe for concurrent use.
type Limiter struct {
	clock clock.Clock
	opts  LimiterOptions
	mu    sync.Mutex
	keys  map[string]*list.Element // of *failures; least recently failed at the front
	order *list.List
	// refusals aggregates the audit records of refused logins over the
	// same window; the API sets it, with its audit sink.
	refusals *identity.Refusals
}

// failures are the failure times of one key ("u:name" or "ip:addr"),
// oldest first.
type failures struct {
	key   string
	times []time.Time
}

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
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	return &Limiter{clock: c, opts: o, keys: map[string]*list.Element{}, order: list.New()}
}

// Attempt is a login attempt that counts as failed unless Succeeded is
// called.
type Attempt struct {
	l        *Limiter
	user, ip string
	at       time.Time
}

// Begin returns how long the caller must wait before trying to log in as
// user from ip, or 0 and the attempt, already counted as a failure.
func (l *Limiter) Begin(user, ip string) (*Attempt, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if wait := max(l.wait("u:"+user, l.opts.PerUser, now), l.wait("ip:"+ip, l.opts.PerIP, now)); wait > 0 {
		return nil, wait
	}
	for _, k := range []string{"u:" + user, "ip:" + ip} {
		f := l.touch(k, now)
		f.times = append(f.times, now)
	}
	return &Attempt{l: l, user: user, ip: ip, at: now}, 0
}

// Succeeded forgets the failures of the attempt's user name and takes the
// attempt back from its address (whose other failures stay).
func (a *Attempt) Succeeded() {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	l.drop("u:" + a.user)
	e, ok := l.keys["ip:"+a.ip]
	if !ok {
		return
	}
	f := e.Value.(*failures)
	if i := slices.Index(f.times, a.at); i >= 0 {
		f.times = slices.Delete(f.times, i, i+1)
	}
	if len(f.times) == 0 {
		l.drop(f.key)
	}
}

// Abandon takes the attempt back from both counts: it ended before the
// password was judged (the server was busy, the request was invalid).
func (a *Attempt) Abandon() {
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range []string{"u:" + a.user, "ip:" + a.ip} {
		e, ok := l.keys[k]
		if !ok {
			continue
		}
		f := e.Value.(*failures)
		if i := slices.Index(f.times, a.at); i >= 0 {
			f.times = slices.Delete(f.times, i, i+1)
		}
	}
}

// wait is how long until key may fail again; l.mu is held.
func (l *Limiter) wait(key string, limit int, now time.Time) time.Duration {
	e, ok := l.keys[key]
	if !ok {
		return 0
	}
	f := e.Value.(*failures)
	l.prune(f, now)
	if len(f.times) < limit {
		return 0
	}
	return f.times[len(f.times)-limit].Add(l.opts.Window).Sub(now)
}

// touch returns the failures of key, created if need be, as the most
// recent, forgetting the least recent key when there are too many; l.mu is
// held.
func (l *Limiter) touch(key string, now time.Time) *failures {
	if e, ok := l.keys[key]; ok {
		l.order.MoveToBack(e)
		f := e.Value.(*failures)
		l.prune(f, now)
		return f
	}
	for l.order.Len() >= l.opts.MaxKeys {
		l.drop(l.order.Front().Value.(*failures).key)
	}
	f := &failures{key: key}
	l.keys[key] = l.order.PushBack(f)
	return f
}

// prune drops failures older than the window; l.mu is held.
func (l *Limiter) prune(f *failures, now time.Time) {
	i := 0
	for i < len(f.times) && !f.times[i].Add(l.opts.Window).After(now) {
		i++
	}
	f.times = f.times[i:]
}

func (l *Limiter) drop(key string) {
	if e, ok := l.keys[key]; ok {
		l.order.Remove(e)
		delete(l.keys, key)
	}
}

// keyCount is how many keys the limiter tracks.
func (l *Limiter) keyCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}
