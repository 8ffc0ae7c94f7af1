package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// ErrBusy means the server is computing as many password hashes as it
// allows at once and the caller gave up waiting (its context ended) or
// found the queue full. Nothing was written; try again shortly.
var ErrBusy = errors.New("too many password checks at once")

// Hasher computes argon2id hashes, at most Limit at a time: each one takes
// Argon2Params.Memory (64 MiB by default) and a core for a while, so
// unbounded concurrent logins would exhaust the server. Callers beyond the
// limit wait, with their context, and at most 2×Limit wait at once; the
// rest get ErrBusy at once. It is safe for concurrent use.
type Hasher struct {
	params  Argon2Params
	slots   chan struct{}
	waiting atomic.Int64
	// key is argon2.IDKey; tests wrap it to count simultaneous hashes.
	key func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
}

// NewHasher returns a Hasher that makes new hashes with p and runs at most
// limit at once (GOMAXPROCS when limit <= 0).
func NewHasher(p Argon2Params, limit int) *Hasher {
	if limit <= 0 {
		limit = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: p, slots: make(chan struct{}, limit), key: argon2.IDKey}
}

// Limit is how many hashes run at once.
func (h *Hasher) Limit() int { return cap(h.slots) }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > int64(2*cap(h.slots)) {
		h.waiting.Add(-1)
		return ErrBusy
	}
	defer h.waiting.Add(-1)
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

type slotKey struct{ h *Hasher }

// Reserve waits for a slot before the caller opens a transaction, so that
// logins queue outside the database, and returns a context under which
// Hash and Check run in that slot instead of taking another, with the
// function that frees it (call it once, when done). ErrBusy as acquire.
func (h *Hasher) Reserve(ctx context.Context) (context.Context, func(), error) {
	if err := h.acquire(ctx); err != nil {
		return ctx, func() {}, err
	}
	var once sync.Once
	return context.WithValue(ctx, slotKey{h}, true), func() { once.Do(h.release) }, nil
}

// enter takes a slot unless ctx carries one reserved; leave gives it back.
func (h *Hasher) enter(ctx context.Context) (leave func(), err error) {
	if held, _ := ctx.Value(slotKey{h}).(bool); held {
		return func() {}, nil
	}
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	return h.release, nil
}

// Hash returns the PHC string of password with a random salt.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	leave, err := h.enter(ctx)
	if err != nil {
		return "", err
	}
	defer leave()
	p := h.params
	return encodeHash(p, salt, h.key([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)), nil
}

// Check reports whether password matches the PHC hash encoded, comparing
// in constant time.
func (h *Hasher) Check(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, key, err := ParseHash(encoded)
	if err != nil {
		return false, err
	}
	leave, err := h.enter(ctx)
	if err != nil {
		return false, err
	}
	defer leave()
	got := h.key([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}
