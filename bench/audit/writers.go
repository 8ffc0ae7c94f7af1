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
// concurrent callers through the application layer: platform.Do around
// tenancy.Service.UpdateTenant, each writer on a tenant of its own, so
// every change is a state write and its audit record in one transaction,
// as an API request makes it. It runs first with every change committed
// alone (group limit 1, the path before group commit) and then with group
// commit, over the same store, and prints one Markdown row.
func concurrentWriters(ctx context.Context, stdout io.Writer, st *store.Store, db string, writers, perWriter int) error {
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
	measure := func(limit int) (writersResult, error) {
		st.SetCommitGroupLimit(limit)
		before := st.CommitStats()
		var done atomic.Int64
		errs := make([]error, writers)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWriter {
					t := tenants[w]
					t.Description = fmt.Sprintf("change %d", i)
					err := p.Do(ctx, admin, audit.Event{Tenant: t.Name, Action: "tenant.update"}, func(tx platform.Tx) (err error) {
						tenants[w], err = p.Tenancy.UpdateTenant(ctx, tx, admin, t)
						return err
					})
					if err != nil {
						errs[w] = err
						return
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
		r := writersResult{changes: done.Load(), dur: time.Since(start)}
		for _, err := range errs {
			if err != nil {
				return r, fmt.Errorf("update: %w", err)
			}
		}
		after := st.CommitStats()
		r.groups, r.members = after.Groups-before.Groups, after.Members-before.Members
		return r, nil
	}
	alone, err := measure(1)
	if err != nil {
		return err
	}
	grouped, err := measure(64)
	if err != nil {
		return err
	}
	svc := audit.NewService(clock.Real{}, 0)
	var rep audit.Report
	if err := st.View(ctx, func(tx platform.Tx) (err error) { rep, err = svc.Verify(ctx, tx); return err }); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if want := int64(writers) + alone.changes + grouped.changes; !rep.OK() || rep.Checked != want {
		return fmt.Errorf("verify: checked %d of %d, broken: %v", rep.Checked, want, rep.Broken)
	}
	fmt.Fprintf(stdout, "| %s | %d | %d | %.0f changes/s | %.0f changes/s (%.1f changes per commit) | %.1f× |\n",
		db, writers, alone.changes, alone.rate(), grouped.rate(), float64(grouped.members)/float64(max(grouped.groups, 1)),
		grouped.rate()/alone.rate())
	return nil
}
