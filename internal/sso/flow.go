package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"berth.dev/berth/internal/resource"
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

// # Sign-ins in progress
//
// A browser sign-in leaves a Pending of kind FlowSignIn in the database,
// keyed by the hash of its state, until the browser comes back from the
// provider (any replica of the server may receive it). A CLI sign-in
// (berth login --sso) is a browser sign-in that also names the CLI's
// loopback address and the S256 challenge of a verifier only the CLI
// knows (RFC 8252, RFC 7636): when the browser comes back, the server
// leaves a Pending of kind FlowGrant keyed by the hash of a one-time code,
// and sends the browser to the loopback address with that code; the CLI
// redeems the code with its verifier for an API token. A code that leaks
// (a browser history, a log) is useless without the verifier.

// Pending kinds.
const (
	FlowSignIn = "sign-in"
	FlowGrant  = "grant"
)

// Pending is a sign-in in progress: sent to a provider (FlowSignIn), or
// finished in a browser for a CLI that has yet to redeem it (FlowGrant).
type Pending struct {
	Kind     string `json:"kind"`
	Provider string `json:"provider"`
	// Nonce and Verifier are the OIDC nonce and PKCE verifier sent to the
	// provider (FlowSignIn).
	Nonce    string `json:"nonce,omitempty"`
	Verifier string `json:"verifier,omitempty"`
	// Loopback and Challenge are the CLI's address and the S256 challenge
	// of its verifier, for a CLI sign-in.
	Loopback  string `json:"loopback,omitempty"`
	Challenge string `json:"challenge,omitempty"`
	// User is who signed in (FlowGrant).
	User    string    `json:"user,omitempty"`
	Expires time.Time `json:"expires"`
}

// FlowStore keeps the sign-ins in progress, keyed by the SHA-256 of their
// secret (a state or a code), so the database never holds the secret.
type FlowStore interface {
	// PutPending stores p under key, after deleting every pending sign-in
	// that expired by now; it returns how many remain, p included.
	PutPending(ctx context.Context, key string, p Pending, now time.Time) (int, error)
	// TakePending deletes and returns the pending sign-in under key:
	// resource.ErrNotFound when there is none. Only one caller can take a
	// key.
	TakePending(ctx context.Context, key string) (Pending, error)
}

// FlowTTL is how long a browser has to come back from the provider,
// GrantTTL how long a CLI has to redeem its code, and MaxFlows how many
// sign-ins may be in progress at once.
const (
	FlowTTL  = 10 * time.Minute
	GrantTTL = 2 * time.Minute
	MaxFlows = 10000
)

// ErrTooManyFlows is a Begin while MaxFlows sign-ins are pending.
var ErrTooManyFlows = errors.New("too many sign-ins pending")

// Begin starts a sign-in with provider: fresh random state, nonce and
// PKCE verifier, stored until FlowTTL. loopback and challenge are empty
// for the console; for a CLI they are checked (CheckLoopback,
// CheckChallenge), field errors at "cli" and "challenge". It returns the
// state, which only the browser's cookie and the provider's redirect
// carry.
func (s *Service) Begin(ctx context.Context, st FlowStore, provider, loopback, challenge string) (string, Pending, error) {
	var errs resource.Errors
	if loopback != "" || challenge != "" {
		if err := CheckLoopback(loopback); err != nil {
			errs.Add("cli", "%s", err.Error())
		}
		if err := CheckChallenge(challenge); err != nil {
			errs.Add("challenge", "%s", err.Error())
		}
	}
	if err := errs.Err(); err != nil {
		return "", Pending{}, err
	}
	var vals [3]string
	for i := range vals {
		vals[i] = randomSecret()
	}
	now := s.now()
	p := Pending{Kind: FlowSignIn, Provider: provider, Nonce: vals[1], Verifier: vals[2],
		Loopback: loopback, Challenge: challenge, Expires: now.Add(FlowTTL)}
	n, err := st.PutPending(ctx, SecretKey(vals[0]), p, now)
	if err != nil {
		return "", Pending{}, fmt.Errorf("store the sign-in: %w", err)
	}
	if n > MaxFlows {
		return "", Pending{}, ErrTooManyFlows
	}
	return vals[0], p, nil
}

// Resume takes the sign-in with provider whose state is state, when the
// cookie (the state the browser was given) matches it and it has not
// expired: resource.ErrUnauthenticated otherwise.
func (s *Service) Resume(ctx context.Context, st FlowStore, provider, state, cookie string) (Pending, error) {
	if state == "" || len(state) > 256 || subtle.ConstantTimeCompare([]byte(state), []byte(cookie)) != 1 {
		return Pending{}, fmt.Errorf("the sign-in's state is not this browser's: %w", resource.ErrUnauthenticated)
	}
	return s.take(ctx, st, state, FlowSignIn, provider)
}

func (s *Service) take(ctx context.Context, st FlowStore, secret, kind, provider string) (Pending, error) {
	p, err := st.TakePending(ctx, SecretKey(secret))
	if errors.Is(err, resource.ErrNotFound) {
		return Pending{}, fmt.Errorf("no such %s in progress: %w", kind, resource.ErrUnauthenticated)
	}
	if err != nil {
		return Pending{}, err
	}
	if p.Kind != kind || (provider != "" && p.Provider != provider) || !s.now().Before(p.Expires) {
		return Pending{}, fmt.Errorf("no such %s in progress: %w", kind, resource.ErrUnauthenticated)
	}
	return p, nil
}

// Grant records that user signed in for the CLI sign-in p, and returns
// the one-time code the browser carries back to the CLI's loopback
// address: redeemable once, within GrantTTL, with the CLI's verifier.
func (s *Service) Grant(ctx context.Context, st FlowStore, p Pending, user string) (string, error) {
	code := randomSecret()
	now := s.now()
	g := Pending{Kind: FlowGrant, Provider: p.Provider, Challenge: p.Challenge, User: user, Expires: now.Add(GrantTTL)}
	if _, err := st.PutPending(ctx, SecretKey(code), g, now); err != nil {
		return "", fmt.Errorf("store the CLI's code: %w", err)
	}
	return code, nil
}

// TakeGrant takes the CLI sign-in whose code is code:
// resource.ErrUnauthenticated when there is none or it expired. The caller
// then checks the CLI's verifier (Pending.Verify) and commits the take
// whatever the answer, so a code is gone after one attempt, right or
// wrong.
func (s *Service) TakeGrant(ctx context.Context, st FlowStore, code string) (Pending, error) {
	if code == "" || len(code) > 256 {
		return Pending{}, fmt.Errorf("no such grant in progress: %w", resource.ErrUnauthenticated)
	}
	return s.take(ctx, st, code, FlowGrant, "")
}

// Verify checks that verifier is the one whose challenge began p:
// resource.ErrUnauthenticated otherwise.
func (p Pending) Verify(verifier string) error {
	if len(verifier) > 128 || p.Challenge == "" || subtle.ConstantTimeCompare([]byte(Challenge(verifier)), []byte(p.Challenge)) != 1 {
		return fmt.Errorf("the verifier does not match the sign-in's challenge: %w", resource.ErrUnauthenticated)
	}
	return nil
}

// Challenge is the PKCE S256 challenge of verifier (RFC 7636).
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CheckChallenge accepts an S256 challenge: 43 characters of unpadded
// base64url.
func CheckChallenge(c string) error {
	if b, err := base64.RawURLEncoding.DecodeString(c); err != nil || len(b) != sha256.Size {
		return errors.New("must be the S256 challenge of a PKCE verifier: 43 characters of base64url")
	}
	return nil
}

// CheckLoopback accepts the CLI's address: http on a loopback IP
// (127.0.0.1 or [::1]) or localhost with an explicit port, with no user,
// query or fragment (RFC 8252 section 7.3). Anything else could send a
// code to somebody else.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 256 {
		return errors.New("must be a loopback URL such as http://127.0.0.1:PORT/callback")
	}
	host, port := u.Hostname(), u.Port()
	ip := net.ParseIP(host)
	switch {
	case u.Scheme != "http":
		return errors.New("must use http on the loopback interface")
	case host != "localhost" && (ip == nil || !ip.IsLoopback()):
		return fmt.Errorf("host %q is not a loopback address", host)
	case port == "" || port == "0":
		return errors.New("must name the port the CLI listens on")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return errors.New("must have no user, query or fragment")
	}
	return nil
}

// SecretKey is the key a secret (a state or a code) is stored under.
func SecretKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
