package identity_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/store"
)

var cheap = identity.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// countingKey wraps argon2.IDKey: it counts the hashes running at once
// and holds each until release is closed.
type countingKey struct {
	now, peak atomic.Int64
	release   chan struct{}
}

func (c *countingKey) key(password, salt []byte, t, m uint32, th uint8, n uint32) []byte {
	cur := c.now.Add(1)
	for p := c.peak.Load(); cur > p && !c.peak.CompareAndSwap(p, cur); p = c.peak.Load() {
	}
	<-c.release
	defer c.now.Add(-1)
	return argon2.IDKey(password, salt, t, m, th, n)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentLoginsHashAtMostTheLimitAtOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := store.OpenSQLite(ctx, t.TempDir()+"/"+store.SQLiteFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	const limit, logins = 2, 6 // 6 fit the queue of 2×limit waiters
	svc := identity.NewService(clock.Real{}, identity.Options{Argon2: cheap, MaxHashing: limit})
	err = st.InTx(ctx, func(tx platform.Tx) error {
		_, err := svc.CreateUser(ctx, tx, audit.System, identity.User{Name: "ann"}, "password-of-ann")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ck := &countingKey{release: make(chan struct{})}
	identity.SetHashKey(svc.Hasher(), ck.key)

	var wg sync.WaitGroup
	errs := make(chan error, logins)
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := "password-of-ann"
			if i%2 == 1 {
				pw = "a wrong password"
			}
			errs <- st.View(ctx, func(tx platform.Tx) error {
				_, err := svc.Authenticate(ctx, tx, "ann", pw)
				return err
			})
		}()
	}
	// Every login is either hashing or waiting for a slot: had nothing
	// bounded them, all six would be hashing now.
	waitFor(t, "every login to hash or wait", func() bool {
		return ck.now.Load()+identity.Waiting(svc.Hasher()) == logins
	})
	if got := ck.now.Load(); got != limit {
		t.Errorf("%d hashes at once, want %d", got, limit)
	}
	close(ck.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, resource.ErrUnauthenticated) {
			t.Errorf("login: %v", err)
		}
	}
	if got := ck.peak.Load(); got != limit {
		t.Errorf("peak of %d hashes at once, want %d", got, limit)
	}
}

func TestAWaiterThatGivesUpIsBusyAndAFullQueueRefusesAtOnce(t *testing.T) {
	t.Parallel()
	h := identity.NewHasher(cheap, 1)
	ck := &countingKey{release: make(chan struct{})}
	identity.SetHashKey(h, ck.key)
	hashed := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "x"); hashed <- err }()
	waitFor(t, "the first hash to run", func() bool { return ck.now.Load() == 1 })

	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() { _, err := h.Check(ctx, mustHash(t), "x"); gaveUp <- err }()
	waitFor(t, "the second to wait", func() bool { return identity.Waiting(h) == 1 })
	queued := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "y"); queued <- err }()
	waitFor(t, "the third to wait", func() bool { return identity.Waiting(h) == 2 })
	if _, err := h.Hash(t.Context(), "z"); !errors.Is(err, identity.ErrBusy) {
		t.Errorf("a hash beyond the queue: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, identity.ErrBusy) {
		t.Errorf("a waiter whose context ended: %v, want ErrBusy", err)
	}
	close(ck.release)
	for _, c := range []chan error{hashed, queued} {
		if err := <-c; err != nil {
			t.Errorf("hash: %v", err)
		}
	}
}

func mustHash(t *testing.T) string {
	t.Helper()
	h, err := identity.HashPassword("x", cheap)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
