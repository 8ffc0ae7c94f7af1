package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"berth.dev/berth/internal/clock"
)

// RedirectProvider is an OpenID Connect provider the browser is sent to:
// the authorization code flow with PKCE.
type RedirectProvider interface {
	// Name is the provider's name in configuration, bindings and audit.
	Name() string
	// AuthCodeURL is where the browser goes to sign in: it carries state,
	// nonce and the S256 challenge of verifier. An error wraps
	// ErrUnavailable when the provider's discovery cannot be read.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange redeems code with verifier, checks the ID token (signature
	// by the provider's current keys, issuer, audience, expiry, and that
	// it carries nonce) and returns the person: resource.ErrUnauthenticated
	// when any check fails, ErrUnavailable when the provider cannot be
	// asked.
	Exchange(ctx context.Context, code, verifier, nonce string) (Identity, error)
}

// Pending is a sign-in the browser was sent to a provider for.
type Pending struct {
	Provider string
	State    string
	Nonce    string
	Verifier string
	Expires  time.Time
}

// Flows holds the pending sign-ins of this server: each is taken once, by
// its state, within FlowTTL. It is safe for concurrent use.
type Flows struct {
	clock clock.Clock
	mu    sync.Mutex
	m     map[string]Pending
}

// FlowTTL is how long a browser has to come back from the provider, and
// MaxFlows how many sign-ins may be pending at once.
const (
	FlowTTL  = 10 * time.Minute
	MaxFlows = 10000
)

// ErrTooManyFlows is a Begin while MaxFlows sign-ins are pending.
var ErrTooManyFlows = errors.New("too many sign-ins pending")

// NewFlows returns an empty set of pending sign-ins.
func NewFlows(c clock.Clock) *Flows { return &Flows{clock: c, m: map[string]Pending{}} }

// Begin starts a sign-in with provider: fresh random state, nonce and
// PKCE verifier.
func (f *Flows) Begin(provider string) (Pending, error) {
	var vals [3]string
	for i := range vals {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return Pending{}, fmt.Errorf("random: %w", err)
		}
		vals[i] = base64.RawURLEncoding.EncodeToString(b)
	}
	now := f.clock.Now()
	p := Pending{Provider: provider, State: vals[0], Nonce: vals[1], Verifier: vals[2], Expires: now.Add(FlowTTL)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.m) >= MaxFlows {
		f.expire(now)
	}
	if len(f.m) >= MaxFlows {
		return Pending{}, ErrTooManyFlows
	}
	f.m[p.State] = p
	return p, nil
}

func (f *Flows) expire(now time.Time) {
	for k, p := range f.m {
		if !now.Before(p.Expires) {
			delete(f.m, k)
		}
	}
}

// Take returns and forgets the pending sign-in with provider whose state
// is state, and whose cookie (the state the browser was given) matches
// it; false when there is none, it expired, or they differ.
func (f *Flows) Take(provider, state, cookie string) (Pending, bool) {
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(cookie)) != 1 {
		return Pending{}, false
	}
	f.mu.Lock()
	p, ok := f.m[state]
	delete(f.m, state)
	f.mu.Unlock()
	if !ok || p.Provider != provider || !f.clock.Now().Before(p.Expires) {
		return Pending{}, false
	}
	return p, true
}
