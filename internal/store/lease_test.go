package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
)

// replicas opens n stores on one fresh PostgreSQL schema, as n servers
// sharing a database do.
func replicas(t *testing.T, n int) []*store.Store {
	t.Helper()
	storetest.Postgres(t) // fails the test when the server is unreachable
	u := storetest.PostgresSchema(t)
	var out []*store.Store
	for range n {
		st, err := store.OpenPostgres(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out = append(out, st)
	}
	return out
}

func lease(t *testing.T, st *store.Store, holder string) *store.Lease {
	t.Helper()
	l, err := st.Lease("controllers", holder)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func acquire(t *testing.T, l *store.Lease, ttl time.Duration) (leader.Term, bool) {
	t.Helper()
	term, ok, err := l.Acquire(t.Context(), ttl)
	if err != nil {
		t.Fatal(err)
	}
	return term, ok
}

// check runs CheckLease for term in a write transaction of st.
func check(t *testing.T, st *store.Store, term leader.Term) error {
	t.Helper()
	return st.InTx(t.Context(), func(tx platform.Tx) error { return tx.CheckLease(t.Context(), term) })
}

func TestLeaseHasOneHolderUntilItExpires(t *testing.T) {
	t.Parallel()
	sts := replicas(t, 2)
	a, b := lease(t, sts[0], "a"), lease(t, sts[1], "b")

	ta, ok := acquire(t, a, time.Hour)
	if !ok || ta.Epoch != 1 {
		t.Fatalf("first acquire = %+v, %v; want epoch 1, taken", ta, ok)
	}
	if _, ok := acquire(t, b, time.Hour); ok {
		t.Fatal("a second replica acquired a lease held for an hour")
	}
	if ok, err := a.Renew(t.Context(), ta, time.Second); err != nil || !ok {
		t.Fatalf("holder's renew = %v, %v; want renewed", ok, err)
	}
	// The holder renewed for a second only: once it expires, b takes over.
	var tb leader.Term
	deadline := time.Now().Add(30 * time.Second)
	for ok = false; !ok; tb, ok = acquire(t, b, time.Hour) {
		if time.Now().After(deadline) {
			t.Fatal("b never acquired the expired lease")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tb.Epoch != ta.Epoch+1 {
		t.Errorf("b's epoch = %d, want %d", tb.Epoch, ta.Epoch+1)
	}
	if ok, err := a.Renew(t.Context(), ta, time.Hour); err != nil || ok {
		t.Errorf("deposed holder's renew = %v, %v; want refused", ok, err)
	}
	if err := check(t, sts[0], ta); !errors.Is(err, leader.ErrFenced) {
		t.Errorf("deposed holder's transaction: %v, want leader.ErrFenced", err)
	}
	if err := check(t, sts[1], tb); err != nil {
		t.Errorf("holder's transaction: %v", err)
	}
}

func TestLeaseReleasedIsTakenAtOnce(t *testing.T) {
	t.Parallel()
	sts := replicas(t, 2)
	a, b := lease(t, sts[0], "a"), lease(t, sts[1], "b")
	ta, _ := acquire(t, a, time.Hour)
	if err := a.Release(t.Context(), ta); err != nil {
		t.Fatal(err)
	}
	if tb, ok := acquire(t, b, time.Hour); !ok || tb.Epoch != 2 {
		t.Fatalf("acquire after release = %+v, %v; want epoch 2", tb, ok)
	}
}

func TestLeaseTakeoverWaitsForTheHoldersFencedTransaction(t *testing.T) {
	t.Parallel()
	sts := replicas(t, 2)
	a, b := lease(t, sts[0], "a"), lease(t, sts[1], "b")
	ta, _ := acquire(t, a, time.Hour)

	checked, commit := make(chan struct{}), make(chan struct{})
	release := sync.OnceFunc(func() { close(commit) })
	defer release() // a failing test does not leave the transaction open
	errc := make(chan error, 1)
	go func() {
		errc <- sts[0].InTx(context.Background(), func(tx platform.Tx) error {
			if err := tx.CheckLease(context.Background(), ta); err != nil {
				return err
			}
			close(checked)
			<-commit
			return nil
		})
	}()
	<-checked
	// The holder's transaction checked its term: until it commits, nobody
	// can start another, even by force.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	_, err := b.Take(ctx)
	cancel()
	if err == nil {
		t.Fatal("the lease changed hands while the holder's fenced transaction was open")
	}
	release()
	if err := <-errc; err != nil {
		t.Fatalf("holder's transaction: %v", err)
	}
	// The refused Take's statement may still commit once the holder's
	// transaction has (its cancellation reaches the server late under
	// load): then b already holds the next epoch and takes the one after.
	// Either way b's term comes after a's, and a's is fenced.
	tb, err := b.Take(t.Context())
	if err != nil || tb.Epoch <= ta.Epoch {
		t.Fatalf("take after commit = %+v, %v; want an epoch after a's %d", tb, err, ta.Epoch)
	}
	if err := check(t, sts[0], ta); !errors.Is(err, leader.ErrFenced) {
		t.Errorf("transaction of the taken term: %v, want leader.ErrFenced", err)
	}
}

// A holder that stalls inside a fenced transaction (its process frozen,
// its machine cut off while the database still believes its connection)
// holds the lease row's share lock. The database ends that transaction
// once it has been idle for the lease's duration, so another replica takes
// the lease soon after it expired, and the stalled transaction commits
// nothing when its process wakes.
func TestAStalledHoldersTransactionDoesNotKeepTheLease(t *testing.T) {
	t.Parallel()
	sts := replicas(t, 2)
	a, b := lease(t, sts[0], "a"), lease(t, sts[1], "b")
	const ttl = 2 * time.Second
	ta, _ := acquire(t, a, ttl)

	checked, stalled := make(chan struct{}), make(chan struct{})
	wake := sync.OnceFunc(func() { close(stalled) })
	defer wake() // a failing test does not leave the goroutine waiting
	errc := make(chan error, 1)
	go func() {
		errc <- sts[0].InTx(context.Background(), func(tx platform.Tx) error {
			if err := tx.CheckLease(context.Background(), ta); err != nil {
				return err
			}
			close(checked)
			<-stalled
			_, err := tx.GetUser(context.Background(), "nobody")
			if errors.Is(err, resource.ErrNotFound) {
				err = nil
			}
			return err
		})
	}()
	<-checked
	// Without a bound, b's Acquire waits on the row lock for as long as the
	// stalled connection lives: far past this deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		tb, ok, err := b.Acquire(ctx, ttl)
		if err != nil {
			t.Fatalf("b could not take the lease of a stalled holder: %v", err)
		}
		if ok {
			if tb.Epoch <= ta.Epoch {
				t.Fatalf("b took epoch %d, want one after a's %d", tb.Epoch, ta.Epoch)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	wake()
	if err := <-errc; err == nil {
		t.Fatal("the stalled holder's transaction committed after b took the lease")
	}
}

func TestSQLiteHasNoLease(t *testing.T) {
	t.Parallel()
	st := storetest.SQLite(t)(t)
	if _, err := st.Lease("controllers", "a"); err == nil {
		t.Fatal("SQLite offered a lease: it has one server, always the leader")
	}
}

// elect runs a LeaseElector on l until ctx ends; lead's contexts are sent
// on led.
func elect(ctx context.Context, l leader.Lock, led chan<- context.Context) <-chan error {
	e := &leader.LeaseElector{Lock: l, TTL: 4 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	errc := make(chan error, 1)
	go func() {
		errc <- e.Run(ctx, func(ctx context.Context, _ leader.Term) {
			led <- ctx
			<-ctx.Done()
		})
	}()
	return errc
}

func TestElectorsLeadOneAtATime(t *testing.T) {
	t.Parallel()
	sts := replicas(t, 2)
	ctxA, stopA := context.WithCancel(t.Context())
	defer stopA()
	ledA, ledB := make(chan context.Context, 1), make(chan context.Context, 1)
	errA := elect(ctxA, lease(t, sts[0], "a"), ledA)
	<-ledA
	errB := elect(t.Context(), lease(t, sts[1], "b"), ledB)
	select {
	case <-ledB:
		t.Fatal("b leads while a does")
	case <-time.After(5 * time.Second): // longer than the lease: a renews it
	}
	stopA() // a steps down and releases the lease
	if err := <-errA; err != nil {
		t.Errorf("a stepping down: %v", err)
	}
	termB := <-ledB
	// A third holder takes the lease by force: b's term is lost.
	if _, err := lease(t, sts[0], "c").Take(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-termB.Done()
	if err := <-errB; !errors.Is(err, leader.ErrLost) {
		t.Errorf("b's election after losing the lease: %v, want leader.ErrLost", err)
	}
}

func TestLeaseOfARestartedHolderIsTakenBackAtOnce(t *testing.T) {
	t.Parallel()
	sts := replicas(t, 2)
	before, _ := acquire(t, lease(t, sts[0], "host:/var/lib/berth"), time.Hour)
	// The process was killed and started again on the same host and directory.
	again, ok := acquire(t, lease(t, sts[1], "host:/var/lib/berth"), time.Hour)
	if !ok || again.Epoch != before.Epoch+1 {
		t.Fatalf("restarted holder's acquire = %+v, %v; want epoch %d at once", again, ok, before.Epoch+1)
	}
	if err := check(t, sts[0], before); !errors.Is(err, leader.ErrFenced) {
		t.Errorf("the killed process's term: %v, want leader.ErrFenced", err)
	}
	if _, ok := acquire(t, lease(t, sts[0], "other:/var/lib/berth"), time.Hour); ok {
		t.Error("another replica took a held lease")
	}
}
