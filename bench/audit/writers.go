package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

// writersResult is one concurrent-writers run.
type writersResult struct {
	changes         int64
	dur             time.Duration
	groups, members int64
}

func (r writersResult) rate() float64 { return float64(r.changes) / r.dur.Seconds() }

// concurrentWriters measures audited changes per second made by writers
// concurrent callers, on two paths:
//
//   - "platform.Do → UpdateTenant": the application layer, each writer on
//     a tenant of its own, so every change is a state read and write and
//     its audit record in one transaction, as an API request makes it;
//   - "audit.Append": a record alone per transaction, the path of the
//     single-record figure above.
//
// Each path runs first with every change committed alone (group limit 1,
// the path before group commit) and then with group commit, over the same
// store (without alone, only with group commit); one Markdown row per
// path. The chain is verified at the end.
func concurrentWriters(ctx context.Context, stdout io.Writer, st *store.Store, db string, writers, perWriter int, alone bool) error {
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		return err
	}
	p, err := platform.New(st, platform.Options{Clock: clock.Real{}, Sealer: sealer})
	if err != nil {
		return err
	}
	admin := audit.Actor{User: "bench", Roles: []string{"platform-admin"}, SourceIP: "10.1.2.3", RequestID: "bench"}
	tenants := make([]tenancy.Tenant, writers)
	for w := range writers {
		name := fmt.Sprintf("bench-w%02d", w)
		if err := p.Do(ctx, admin, audit.Event{Action: "tenant.create"}, func(tx platform.Tx) (err error) {
			tenants[w], err = p.Tenancy.CreateTenant(ctx, tx, admin, tenancy.Tenant{Name: name})
			return err
		}); err != nil {
			return fmt.Errorf("create tenant %s: %w", name, err)
		}
	}
	update := func(w, i int) error {
		t := tenants[w]
		t.Description = fmt.Sprintf("change %d", i)
		return p.Do(ctx, admin, audit.Event{Tenant: t.Name, Action: "tenant.update"}, func(tx platform.Tx) (err error) {
			tenants[w], err = p.Tenancy.UpdateTenant(ctx, tx, admin, t)
			return err
		})
	}
	appendOnly := func(w, i int) error {
		return st.InTx(ctx, func(tx platform.Tx) error {
			_, err := audit.Append(ctx, tx, time.Now(), admin, audit.Event{Tenant: tenants[w].Name, Action: "application.set-version",
				Target: "tenants/" + tenants[w].Name + "/projects/payments/applications/red-auth", Summary: fmt.Sprintf("set version %d", i)})
			return err
		})
	}
	total := int64(writers)
	for _, path := range []struct {
		name   string
		change func(w, i int) error
	}{{"platform.Do → UpdateTenant", update}, {"audit.Append", appendOnly}} {
		var rs [2]writersResult
		for k, limit := range []int{1, 64} {
			if limit == 1 && !alone {
				continue
			}
			st.SetCommitGroupLimit(limit)
			if rs[k], err = measure(st, writers, perWriter, path.change); err != nil {
				return fmt.Errorf("%s: %w", path.name, err)
			}
			total += rs[k].changes
		}
		single, speedup := "—", "—"
		if alone {
			single, speedup = fmt.Sprintf("%.0f changes/s", rs[0].rate()), fmt.Sprintf("%.1f×", rs[1].rate()/rs[0].rate())
		}
		fmt.Fprintf(stdout, "| %s | %s | %d | %d | %s | %.0f changes/s (%.1f changes per commit) | %s |\n",
			db, path.name, writers, rs[1].changes, single, rs[1].rate(),
			float64(rs[1].members)/float64(max(rs[1].groups, 1)), speedup)
	}
	svc := audit.NewService(clock.Real{}, 0)
	var rep audit.Report
	if err := st.View(ctx, func(tx platform.Tx) (err error) { rep, err = svc.Verify(ctx, tx); return err }); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !rep.OK() || rep.Checked != total {
		return fmt.Errorf("verify: checked %d of %d, broken: %v", rep.Checked, total, rep.Broken)
	}
	return nil
}

// measure runs writers goroutines making perWriter changes each.
func measure(st *store.Store, writers, perWriter int, change func(w, i int) error) (writersResult, error) {
	before := st.CommitStats()
	var done atomic.Int64
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if errs[w] = change(w, i); errs[w] != nil {
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	r := writersResult{changes: done.Load(), dur: time.Since(start)}
	for _, err := range errs {
		if err != nil {
			return r, err
		}
	}
	after := st.CommitStats()
	r.groups, r.members = after.Groups-before.Groups, after.Members-before.Members
	return r, nil
}
