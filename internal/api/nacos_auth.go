package api

import (
	"crypto/sha256"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/platform"
)

// callers remembers who a Nacos client's credential is and what it may
// do, so that the storm of queries that follows a push (every client of an
// item asks for its new content at once, each request carrying its
// credential) does not read users, sessions, tokens and memberships once
// per request. An entry is good while no committed change could have
// altered what it says — every audited action outside the config center
// bumps a generation that invalidates them all (a token revoked, a user
// disabled, a binding removed: effective for the next request) — until
// its credential expires, and for at most callerMaxAge.
type callers struct {
	clock func() time.Time
	gen   atomic.Uint64

	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedCaller
}

type cachedCaller struct {
	gen     uint64
	caller  platform.Caller // without source address and request ID
	expires time.Time
}

const (
	callerMaxAge  = time.Minute
	callerEntries = 10000 // beyond this many credentials, start again
)

// newCallers returns a cache that changes invalidates, or nil (nothing
// cached) without changes.
func newCallers(changes *change.Bus, clock func() time.Time) *callers {
	if changes == nil {
		return nil
	}
	c := &callers{clock: clock, m: map[[sha256.Size]byte]cachedCaller{}}
	changes.Subscribe(func(ch change.Changed) {
		if !strings.HasPrefix(ch.Key.Name, "config.") {
			c.gen.Add(1)
		}
	}, change.Audit)
	return c
}

// generation is read before the credential is: a change committed
// after that read keeps the answer out of the cache (put).
func (c *callers) generation() uint64 {
	if c == nil {
		return 0
	}
	return c.gen.Load()
}

func (c *callers) get(secret string) (platform.Caller, bool) {
	if c == nil {
		return platform.Caller{}, false
	}
	k := sha256.Sum256([]byte(secret))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || e.gen != c.gen.Load() || !c.clock().Before(e.expires) {
		delete(c.m, k)
		return platform.Caller{}, false
	}
	return e.caller, true
}

// put remembers caller for secret until expires (the credential's expiry)
// unless a change was committed since gen was read.
func (c *callers) put(secret string, gen uint64, caller platform.Caller, expires time.Time) {
	if c == nil || gen != c.gen.Load() {
		return
	}
	if limit := c.clock().Add(callerMaxAge); expires.After(limit) {
		expires = limit
	}
	k := sha256.Sum256([]byte(secret))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= callerEntries {
		clear(c.m)
	}
	c.m[k] = cachedCaller{gen: gen, caller: caller, expires: expires}
}
