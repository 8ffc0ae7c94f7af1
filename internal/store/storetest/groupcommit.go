package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

var errGiveUp = errors.New("give up after writing")

// testGroupCommitConcurrentWriters drives 32 writers through the
// application layer (platform.Do around tenancy.UpdateTenant), each on a
// tenant of its own, with every fifth change failing after it wrote and
// one panicking, and checks what group commit must keep: every
// acknowledged change and only those are in the database with their
// records, the chain verifies, and a change acknowledged before another
// began comes first in the chain.
func testGroupCommitConcurrentWriters(t *testing.T, h *harness) {
	const writers, changes = 32, 12
	ctx := t.Context()
	for w := range writers {
		h.tenant(t, fmt.Sprintf("w%02d", w))
	}
	type op struct {
		writer, n    int
		start, acked int64 // ticks of one clock shared by every writer
		ok, panicked bool
	}
	var tick atomic.Int64
	ops := make([][]op, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w%02d", w)
			rv := int64(1)
			for n := range changes {
				o := op{writer: w, n: n, start: tick.Add(1)}
				err := h.groupChange(ctx, name, rv, n, w)
				o.acked = tick.Add(1)
				switch {
				case err == nil:
					o.ok, rv = true, rv+1
				case errors.Is(err, errPanicked):
					o.panicked = true
				case !errors.Is(err, errGiveUp) && !errors.Is(err, errPanicked):
					t.Errorf("%s change %d: %v", name, n, err)
				}
				ops[w] = append(ops[w], o)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The records of each tenant's successful updates, in chain order, are
	// its acknowledged changes in the order it made them.
	seqOf := map[[2]int]int64{}
	h.view(t, func(tx platform.Tx) error {
		recs := auditRecords(t, h, tx)
		next := make([]int, writers)
		failures := 0
		for _, r := range recs {
			var w int
			if _, err := fmt.Sscanf(r.Tenant, "w%02d", &w); err != nil || r.Action != "tenant.update" {
				continue
			}
			if r.Outcome == audit.Failure {
				failures++
				continue
			}
			for next[w] < changes && !ops[w][next[w]].ok {
				next[w]++
			}
			if next[w] == changes {
				t.Fatalf("record %d: tenant %s has a record of a change never acknowledged", r.Seq, r.Tenant)
			}
			seqOf[[2]int{w, next[w]}] = r.Seq
			next[w]++
		}
		wantFailures := 0
		for w := range writers {
			acked := 0
			for _, o := range ops[w] {
				switch {
				case o.ok:
					acked++
				case !o.panicked: // platform.Do records a failure, a panic it lets through
					wantFailures++
				}
			}
			got := must[tenancy.Tenant](t)(h.p.Tenancy.GetTenant(ctx, tx, fmt.Sprintf("w%02d", w)))
			diff(t, "tenant "+got.Name+" version (1 + its acknowledged changes)", got.ResourceVersion, int64(1+acked))
		}
		diff(t, "records of acknowledged changes", len(seqOf), writers*changes-wantFailures-1)
		diff(t, "failure records", failures, wantFailures)
		return nil
	})
	if rep := h.verify(t); !rep.OK() {
		t.Fatalf("verify: %v", rep.Broken)
	}
	// Commit order: whatever was acknowledged before a change began has a
	// smaller sequence number. Sorted by start, a running maximum of the
	// acknowledged seqs checks every pair.
	var all []op
	for _, w := range ops {
		for _, o := range w {
			if o.ok {
				all = append(all, o)
			}
		}
	}
	byAck := slices.SortedFunc(slices.Values(all), func(a, b op) int { return int(a.acked - b.acked) })
	byStart := slices.SortedFunc(slices.Values(all), func(a, b op) int { return int(a.start - b.start) })
	var maxSeq int64
	i := 0
	for _, b := range byStart {
		for ; i < len(byAck) && byAck[i].acked < b.start; i++ {
			maxSeq = max(maxSeq, seqOf[[2]int{byAck[i].writer, byAck[i].n}])
		}
		if seq := seqOf[[2]int{b.writer, b.n}]; seq <= maxSeq {
			t.Fatalf("writer %d change %d (record %d) began after a change recorded at %d was acknowledged", b.writer, b.n, seq, maxSeq)
		}
	}
	st := h.st.CommitStats()
	t.Logf("%d write transactions in %d commits", st.Members, st.Groups)
}

var errPanicked = errors.New("panicked")

// groupChange updates tenant name at version rv through the application
// layer. Change 4, 9, … fails after writing; writer 0's change 7 panics
// after writing, which is recovered here.
func (h *harness) groupChange(ctx context.Context, name string, rv int64, n, w int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanicked, p)
		}
	}()
	ev := audit.Event{Tenant: name, Action: "tenant.update", Target: "tenants/" + name}
	return h.p.Do(ctx, h.admin, ev, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.UpdateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: name, DisplayName: "Tenant " + name,
			Description: fmt.Sprintf("change %d", n), ResourceVersion: rv})
		switch {
		case err != nil:
			return err
		case n%5 == 4:
			return errGiveUp
		case w == 0 && n == 7:
			panic("a member panics after writing")
		}
		return nil
	})
}

// testGroupCommitFailingMember builds one group deterministically: a first
// writer holds the commit while the others queue, and they join its
// group. The members that fail, panic or are cancelled leave nothing;
// the others commit with their records and after-commit hooks.
func testGroupCommitFailingMember(t *testing.T, h *harness) {
	ctx := t.Context()
	before := h.st.CommitStats()
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- h.st.InTx(ctx, func(tx platform.Tx) error {
			<-release
			_, err := h.p.Tenancy.CreateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: "first"})
			return err
		})
	}()
	waitFor(t, "the first writer to lead", func() bool { return h.st.CommitStats().Groups > before.Groups })

	const members = 12
	// "sqlerror" makes a statement fail in the database (a project of a
	// missing tenant: a foreign key), which on PostgreSQL aborts the whole
	// transaction unless rolled back to a savepoint.
	kinds := []string{"ok", "fail", "ok", "panic", "ok", "cancelled", "ok", "sqlerror"}
	results := make([]error, members)
	hooks := make([]atomic.Bool, members)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var wg sync.WaitGroup
	for i := range members {
		kind := kinds[i%len(kinds)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i] = fmt.Errorf("%w: %v", errPanicked, p)
				}
			}()
			mctx := ctx
			if kind == "cancelled" {
				mctx = cancelled
			}
			results[i] = h.st.InTx(mctx, func(tx platform.Tx) error {
				tx.AfterCommit(func() { hooks[i].Store(true) })
				if _, err := h.p.Tenancy.CreateTenant(mctx, tx, h.admin, tenancy.Tenant{Name: fmt.Sprintf("m%02d", i)}); err != nil {
					return err
				}
				switch kind {
				case "sqlerror":
					return tx.CreateProject(mctx, tenancy.Project{Tenant: "missing", Name: "p"})
				case "fail":
					return errGiveUp
				case "panic":
					panic("a member panics after writing")
				}
				return nil
			})
		}()
	}
	waitFor(t, "every member to queue", func() bool { return h.st.CommitStats().Waiting == members })
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	after := h.st.CommitStats()
	diff(t, "commits (the members queued while the first writer ran joined its group)", after.Groups-before.Groups, int64(1))
	diff(t, "write transactions", after.Members-before.Members, int64(members+1))

	wantTenants := []string{"first"}
	for i := range members {
		kind := kinds[i%len(kinds)]
		var want error
		switch kind {
		case "ok":
			want = nil
			wantTenants = append(wantTenants, fmt.Sprintf("m%02d", i))
		case "fail":
			want = errGiveUp
		case "panic":
			want = errPanicked
		case "cancelled":
			want = context.Canceled
		case "sqlerror":
			want = resource.ErrNotFound
		}
		if (want == nil) != (results[i] == nil) || (want != nil && !errors.Is(results[i], want)) {
			t.Errorf("member %d (%s): got %v, want %v", i, kind, results[i], want)
		}
		diff(t, fmt.Sprintf("member %d (%s) after-commit hook ran", i, kind), hooks[i].Load(), want == nil)
	}
	h.view(t, func(tx platform.Tx) error {
		page := must[resource.Page[tenancy.Tenant]](t)(h.p.Tenancy.ListTenants(ctx, tx, resource.ListOptions{Limit: 100}))
		var names []string
		for _, tn := range page.Items {
			names = append(names, tn.Name)
		}
		var recorded []string
		for _, r := range auditRecords(t, h, tx) {
			recorded = append(recorded, r.Tenant)
		}
		slices.Sort(wantTenants)
		diff(t, "tenants", names, wantTenants)
		if len(recorded) == 0 || recorded[0] != "first" {
			t.Errorf("records %v: want the first writer's first", recorded)
		}
		slices.Sort(recorded)
		diff(t, "tenants of the records", recorded, wantTenants)
		return nil
	})
	if rep := h.verify(t); !rep.OK() || rep.Checked != int64(len(wantTenants)) {
		t.Fatalf("verify: %+v", rep)
	}
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// testGroupCommitGoexit: a function that ends its goroutine (as t.FailNow
// does) on the leader's goroutine abandons its group: every member is
// answered ErrAbandoned, nothing of the group is written, and the next
// write transaction is served.
func testGroupCommitGoexit(t *testing.T, h *harness) {
	ctx := t.Context()
	before := h.st.CommitStats()
	release := make(chan struct{})
	go func() {
		_ = h.st.InTx(ctx, func(tx platform.Tx) error {
			<-release
			_, err := h.p.Tenancy.CreateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: "first"})
			return err
		})
		t.Error("the leader's goroutine went on after a function ended it")
	}()
	waitFor(t, "the first writer to lead", func() bool { return h.st.CommitStats().Groups > before.Groups })
	const members = 3
	results := make([]error, members)
	var wg sync.WaitGroup
	for i := range members {
		wg.Go(func() {
			results[i] = h.st.InTx(ctx, func(tx platform.Tx) error {
				if _, err := h.p.Tenancy.CreateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: fmt.Sprintf("m%d", i)}); err != nil {
					return err
				}
				if i == 1 {
					runtime.Goexit()
				}
				return nil
			})
		})
	}
	waitFor(t, "every member to queue", func() bool { return h.st.CommitStats().Waiting == members })
	close(release)
	wg.Wait()
	for i, err := range results {
		if !errors.Is(err, store.ErrAbandoned) {
			t.Errorf("member %d: got %v, want ErrAbandoned", i, err)
		}
	}
	h.tenant(t, "after")
	h.view(t, func(tx platform.Tx) error {
		page := must[resource.Page[tenancy.Tenant]](t)(h.p.Tenancy.ListTenants(ctx, tx, resource.ListOptions{Limit: 100}))
		diff(t, "tenants", len(page.Items), 1)
		return nil
	})
	if rep := h.verify(t); !rep.OK() || rep.Checked != 1 {
		t.Fatalf("verify: %+v", rep)
	}
}
