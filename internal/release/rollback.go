package release

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
)

// rollBack issues the rollback of every started item, dependents first,
// follows it, and ends the order RolledBack once every item is back.
//
// An item is rolled back once the rollback of every item that depends on
// it has been applied to the cluster, so consumers return to their old
// version before the services they call do. Issuing waits only for the
// apply, not for readiness: old ReplicaSets are kept (revision history),
// so the old pods return at once.
func (e *engine) rollBack(ctx context.Context) error {
	if e.o.State == Failed {
		e.o.State, e.dirty = RollingBack, true
	}
	deps := dependents(e.o.Items)
	for i := range e.o.Items {
		it := &e.o.Items[i]
		switch it.State {
		case ItemPending:
			it.State, it.Message, e.dirty = ItemCancelled, "cancelled: the order is rolling back", true
		case ItemDeploying, ItemSucceeded, ItemFailed:
			ok, err := e.dependentsBack(ctx, deps[it.Application])
			if err != nil {
				return err
			}
			if ok {
				if err := e.restore(ctx, it); err != nil {
					return err
				}
			}
		}
	}
	for i := range e.o.Items {
		if it := &e.o.Items[i]; it.State == ItemRollingBack {
			if err := e.checkBack(ctx, it); err != nil {
				return err
			}
		}
	}
	for _, it := range e.o.Items {
		if it.State != ItemRolledBack && it.State != ItemCancelled {
			return nil
		}
	}
	finished := e.now
	e.o.State, e.o.FinishedAt = RolledBack, &finished
	if err := e.event(ctx, "release.rolled-back", "every started item is back to what ran before the order"); err != nil {
		return err
	}
	p := e.o.Progress()
	return e.s.notify(ctx, e.st, *e.o, "release.rolled-back", fmt.Sprintf("发布单 %s 已回滚 / release order %s rolled back", e.o.ID, e.o.ID),
		fmt.Sprintf("**%s** (%s) → %s: %d items rolled back, %d cancelled", e.o.Title, orDash(e.o.Ticket), e.o.Environment, p.RolledBack, p.Cancelled))
}

// dependentsBack reports whether every item depending on an item has had
// its rollback applied (or never started).
func (e *engine) dependentsBack(ctx context.Context, dependents []string) (bool, error) {
	for _, app := range dependents {
		it := e.o.Item(app)
		switch it.State {
		case ItemCancelled, ItemRolledBack, ItemPending:
			continue
		case ItemRollingBack:
			d, err := e.deployment(ctx, app)
			if err != nil {
				return false, err
			}
			if d != nil && d.Applied.Generation < it.Generation {
				return false, nil
			}
		default:
			return false, nil
		}
	}
	return true, nil
}

// restore returns an item's application to what ran before the order:
// its version, replica override and stopped state, or no deployment at
// all.
func (e *engine) restore(ctx context.Context, it *Item) error {
	b := it.Before
	k := e.key(it.Application)
	why := "release order " + e.o.ID + " rolled back"
	if b.Absent {
		d, err := e.s.deploy.Delete(ctx, e.st, audit.System, k)
		if err != nil {
			return fmt.Errorf("roll back %s: %w", it.Application, err)
		}
		e.deps[it.Application] = &d
		it.Generation = d.Generation
		it.State, it.Message = ItemRollingBack, "removing: it was not deployed before the order"
		return e.event(ctx, "release.item-rollback", "removing %s from %s: it was not deployed before", it.Application, e.o.Environment)
	}
	d, err := e.s.deploy.Restore(ctx, e.st, audit.System, k, b.Version, b.Replicas, b.Stopped, why)
	if err != nil {
		return fmt.Errorf("roll back %s: %w", it.Application, err)
	}
	e.deps[it.Application] = &d
	it.Generation = d.Generation
	it.State, it.Message = ItemRollingBack, "returning to version "+b.Version
	return e.event(ctx, "release.item-rollback", "returning %s in %s from version %s to %s", it.Application, e.o.Environment, it.Version, b.Version)
}

// checkBack marks a rolling-back item RolledBack once the cluster runs
// what ran before (or nothing, when nothing did).
func (e *engine) checkBack(ctx context.Context, it *Item) error {
	d, err := e.deployment(ctx, it.Application)
	if err != nil {
		return err
	}
	b := it.Before
	if b.Absent {
		if d != nil {
			return nil // the controller removes the objects, then the record
		}
		return e.backDone(ctx, it, "removed")
	}
	if d == nil || d.Applied.Generation < it.Generation {
		return nil
	}
	ob := e.obs.Observe(e.env, it.Application)
	if !ob.Reachable || ob.Version != b.Version || !ob.Ready {
		if ob.Summary != "" && it.Message != "returning to version "+b.Version+": "+ob.Summary {
			it.Message, e.dirty = "returning to version "+b.Version+": "+ob.Summary, true
		}
		return nil
	}
	return e.backDone(ctx, it, "version "+b.Version+" ready again")
}

func (e *engine) backDone(ctx context.Context, it *Item, what string) error {
	it.State, it.Message = ItemRolledBack, "rolled back: "+what
	return e.event(ctx, "release.item-rolled-back", "%s in %s rolled back: %s", it.Application, e.o.Environment, what)
}
