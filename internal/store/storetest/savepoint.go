package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

// oneGroup runs first and then fns as one commit group, built
// deterministically: first holds the commit until every other function
// has queued behind it. It returns first's answer and each function's.
func (h *harness) oneGroup(t *testing.T, first func(ctx context.Context, tx platform.Tx) error,
	fns []func(ctx context.Context, tx platform.Tx) error) (error, []error) {
	t.Helper()
	ctx := t.Context()
	before := h.st.CommitStats()
	release := make(chan struct{})
	firstErr := make(chan error, 1)
	go func() {
		firstErr <- h.st.InTx(ctx, func(tx platform.Tx) error {
			<-release
			return first(ctx, tx)
		})
	}()
	waitFor(t, "the first writer to lead", func() bool { return h.st.CommitStats().Groups > before.Groups })
	results := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { results[i] = h.st.InTx(ctx, func(tx platform.Tx) error { return fn(ctx, tx) }) })
	}
	waitFor(t, "every member to queue", func() bool { return h.st.CommitStats().Waiting == len(fns) })
	close(release)
	wg.Wait()
	err := <-firstErr
	after := h.st.CommitStats()
	diff(t, "database transactions (every function in the first one's)", after.Groups-before.Groups, int64(1))
	return err, results
}

// testGroupCommitSavepointWithFirstStatement: each member's savepoint
// travels with its first statement. A member whose first statement fails
// (the group's first too) leaves nothing, one that fails before any
// statement or runs none has no savepoint to roll back and takes nobody
// with it, one that ignores a failed statement never costs another its
// change, and all of them share one transaction with the members that
// commit.
func testGroupCommitSavepointWithFirstStatement(t *testing.T, h *harness) {
	missingParent := func(ctx context.Context, tx platform.Tx) error {
		return tx.CreateProject(ctx, tenancy.Project{Tenant: "missing", Name: "p"})
	}
	create := func(ctx context.Context, tx platform.Tx, name string) error {
		_, err := h.p.Tenancy.CreateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: name})
		return err
	}
	members := []struct {
		name string
		fn   func(ctx context.Context, tx platform.Tx) error
		want error // nil: committed
	}{
		{"m00", missingParent, resource.ErrNotFound},
		{"m01", func(ctx context.Context, tx platform.Tx) error { return create(ctx, tx, "m01") }, nil},
		{"m02", func(context.Context, platform.Tx) error { return errGiveUp }, errGiveUp},
		{"m03", func(ctx context.Context, tx platform.Tx) error { // an audit record alone: no statement before the commit
			_, err := audit.Append(ctx, tx, h.clock.Now(), h.admin, audit.Event{Tenant: "m03", Action: "test.record"})
			return err
		}, nil},
		{"m04", func(ctx context.Context, tx platform.Tx) error {
			if err := create(ctx, tx, "m04"); err != nil {
				return err
			}
			return missingParent(ctx, tx)
		}, resource.ErrNotFound},
		{"m05", func(ctx context.Context, tx platform.Tx) error { // ignores a failed statement
			if err := create(ctx, tx, "m05"); err != nil {
				return err
			}
			_ = missingParent(ctx, tx)
			return nil
		}, nil},
		{"m06", func(ctx context.Context, tx platform.Tx) error { return create(ctx, tx, "m06") }, nil},
	}
	if h.st.Dialect() == "postgres" {
		// The failed statement aborted PostgreSQL's transaction: the member
		// is rolled back to its savepoint and told so.
		members[5].want = store.ErrIgnoredFailure
	}
	fns := make([]func(context.Context, platform.Tx) error, len(members))
	for i, m := range members {
		fns[i] = m.fn
	}
	firstErr, results := h.oneGroup(t, missingParent, fns)
	wantErr(t, firstErr, resource.ErrNotFound)
	var wantTenants, wantRecords []string
	for i, m := range members {
		if (m.want == nil) != (results[i] == nil) || (m.want != nil && !errors.Is(results[i], m.want)) {
			t.Errorf("member %s: got %v, want %v", m.name, results[i], m.want)
		}
		if m.want == nil {
			wantRecords = append(wantRecords, m.name)
			if m.name != "m03" {
				wantTenants = append(wantTenants, m.name)
			}
		}
	}
	ctx := t.Context()
	h.view(t, func(tx platform.Tx) error {
		page := must[resource.Page[tenancy.Tenant]](t)(h.p.Tenancy.ListTenants(ctx, tx, resource.ListOptions{Limit: 100}))
		var names []string
		for _, tn := range page.Items {
			names = append(names, tn.Name)
		}
		diff(t, "tenants", names, wantTenants)
		var recorded []string
		for _, r := range auditRecords(t, h, tx) {
			recorded = append(recorded, r.Tenant)
		}
		slices.Sort(recorded) // in the order the members queued
		diff(t, "tenants of the records", recorded, wantRecords)
		projects := 0
		for _, tn := range names {
			p := must[resource.Page[tenancy.Project]](t)(h.p.Tenancy.ListProjects(ctx, tx, tn, resource.ListOptions{Limit: 10}))
			projects += len(p.Items)
		}
		diff(t, "projects", projects, 0)
		return nil
	})
	if rep := h.verify(t); !rep.OK() || rep.Checked != int64(len(wantRecords)) {
		t.Fatalf("verify: %+v", rep)
	}
	h.tenant(t, "after") // the next write transaction is served as usual
}
