package gray

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// GroupStore is what a gray group needs: plans and release orders, bound
// to one transaction.
type GroupStore interface {
	Store
	release.Store
}

// Groups release every item of a release order by gray plans that move
// together — one plan per item, with the same steps, so one cohort always
// sees the new version of all of them. The order is the group: it must be
// Approved to start one (approvals still apply), is Graying while the
// plans run, Succeeded once they are promoted and Aborted when they are
// aborted (release.Service.Gray). Every call changes every plan of the
// group and the order in the caller's transaction, or nothing. It is safe
// for concurrent use.
type Groups struct {
	gray    *Service
	release *release.Service
}

// NewGroups returns Groups changing plans through g and orders through r.
func NewGroups(g *Service, r *release.Service) *Groups { return &Groups{gray: g, release: r} }

// Start begins the gray release of order k: for each item, a plan whose
// stable version is the item's current deployment version and whose gray
// version is the item's target version, with spec's strategy, steps, step,
// side and gray replicas (spec's other fields are ignored). The order's
// dependencies do not apply: every item runs gray at once.
func (g *Groups) Start(ctx context.Context, st GroupStore, a audit.Actor, k release.Key, spec Plan) (release.Order, []Plan, error) {
	o, err := st.GetOrder(ctx, k.Tenant, k.Project, k.ID)
	if err != nil {
		return release.Order{}, nil, fmt.Errorf("release order %s: %w", k.ID, err)
	}
	o, err = g.release.Gray(ctx, st, a, k, release.GrayStart, fmt.Sprintf("%s beside their stable versions, %s", items(o), spec.Strategy))
	if err != nil {
		return release.Order{}, nil, err
	}
	plans := make([]Plan, 0, len(o.Items))
	for i, it := range o.Items {
		p := Plan{Tenant: o.Tenant, Project: o.Project, Environment: o.Environment, Application: it.Application, Group: o.ID,
			GrayVersion: it.Version, Strategy: spec.Strategy, GrayReplicas: spec.GrayReplicas, Steps: spec.Steps, Step: spec.Step, Side: spec.Side}
		if it.Before == nil || it.Before.Absent {
			return release.Order{}, nil, &resource.ValidationError{Fields: []resource.FieldError{{Path: fmt.Sprintf("items[%d].application", i),
				Reason: fmt.Sprintf("%s is not deployed in %s, so there is no stable version for its gray version to run beside; release the order with `berth release start`",
					it.Application, o.Environment)}}}
		}
		p, err := g.gray.start(ctx, st, a, p)
		if err != nil {
			return release.Order{}, nil, itemErr(o, i, err)
		}
		plans = append(plans, p)
	}
	return o, plans, nil
}

// Step moves every plan of order k's group to step to (from 0), or to the
// next step when to is nil.
func (g *Groups) Step(ctx context.Context, st GroupStore, a audit.Actor, k release.Key, to *int) (release.Order, []Plan, error) {
	what := "to the next step"
	if to != nil {
		what = fmt.Sprintf("to step %d", *to+1)
	}
	return g.each(ctx, st, a, k, release.GrayStep, "moved "+what, func(pk deploy.Key) (Plan, error) {
		return g.gray.step(ctx, st, a, pk, k.ID, to)
	})
}

// Set makes change c to every plan of order k's group.
func (g *Groups) Set(ctx context.Context, st GroupStore, a audit.Actor, k release.Key, c Change) (release.Order, []Plan, error) {
	var what []string
	if c.Steps != nil {
		what = append(what, fmt.Sprintf("%d steps", len(*c.Steps)))
	}
	if c.Step != nil {
		what = append(what, fmt.Sprintf("at step %d", *c.Step+1))
	}
	if c.Side != nil {
		what = append(what, "side "+*c.Side)
	}
	if c.GrayReplicas != nil {
		what = append(what, fmt.Sprintf("%d gray replicas", *c.GrayReplicas))
	}
	return g.each(ctx, st, a, k, release.GraySet, "changed: "+strings.Join(what, ", "), func(pk deploy.Key) (Plan, error) {
		return g.gray.set(ctx, st, a, pk, k.ID, c)
	})
}

// Promote makes every item's gray version its deployment's version, and
// the order Succeeded; keepOld is as for Service.Promote.
func (g *Groups) Promote(ctx context.Context, st GroupStore, a audit.Actor, k release.Key, keepOld time.Duration) (release.Order, []Plan, error) {
	what := "promoted, old versions removed"
	if keepOld > 0 {
		what = fmt.Sprintf("promoted, old versions kept for %s", keepOld)
	}
	return g.each(ctx, st, a, k, release.GrayPromote, what, func(pk deploy.Key) (Plan, error) {
		return g.gray.promote(ctx, st, a, pk, k.ID, keepOld)
	})
}

// Abort sends every item back to its stable version: a running group at
// once (the order ends Aborted), a promoted one by switching every
// deployment back to the old version it keeps (the order ends RolledBack).
func (g *Groups) Abort(ctx context.Context, st GroupStore, a audit.Actor, k release.Key, reason string) (release.Order, []Plan, error) {
	return g.each(ctx, st, a, k, release.GrayAbort, reasonOr(reason), func(pk deploy.Key) (Plan, error) {
		return g.gray.abort(ctx, st, a, pk, k.ID, reason)
	})
}

// End stops keeping the old versions of a promoted group.
func (g *Groups) End(ctx context.Context, st GroupStore, a audit.Actor, k release.Key) (release.Order, []Plan, error) {
	return g.each(ctx, st, a, k, release.GrayEnd, "old versions removed", func(pk deploy.Key) (Plan, error) {
		return g.gray.end(ctx, st, a, pk, k.ID)
	})
}

// Plans returns order k and the plans of its group, in item order; an item
// whose plan is not (or no longer) the group's is left out.
func (g *Groups) Plans(ctx context.Context, st GroupStore, k release.Key) (release.Order, []Plan, error) {
	o, err := st.GetOrder(ctx, k.Tenant, k.Project, k.ID)
	if err != nil {
		return release.Order{}, nil, fmt.Errorf("release order %s: %w", k.ID, err)
	}
	var plans []Plan
	for _, it := range o.Items {
		p, err := st.GetPlan(ctx, itemKey(o, it.Application))
		if errors.Is(err, resource.ErrNotFound) {
			continue
		}
		if err != nil {
			return release.Order{}, nil, fmt.Errorf("gray plan of %s: %w", it.Application, err)
		}
		if p.Group == o.ID {
			plans = append(plans, p)
		}
	}
	return o, plans, nil
}

// each records op on order k (which checks the order's state) and applies
// fn to the plan of every item.
func (g *Groups) each(ctx context.Context, st GroupStore, a audit.Actor, k release.Key, op release.GrayOp, summary string,
	fn func(deploy.Key) (Plan, error)) (release.Order, []Plan, error) {
	o, err := g.release.Gray(ctx, st, a, k, op, summary)
	if err != nil {
		return release.Order{}, nil, err
	}
	plans := make([]Plan, 0, len(o.Items))
	for i, it := range o.Items {
		p, err := fn(itemKey(o, it.Application))
		if err != nil {
			return release.Order{}, nil, itemErr(o, i, err)
		}
		plans = append(plans, p)
	}
	return o, plans, nil
}

func itemKey(o release.Order, app string) deploy.Key {
	return deploy.Key{Tenant: o.Tenant, Project: o.Project, Application: app, Environment: o.Environment}
}

// itemErr names the item of o whose plan refused: refusals and invalid
// fields are shown to users as they are, so the item goes into them.
func itemErr(o release.Order, i int, err error) error {
	app := o.Items[i].Application
	var re *resource.RefusedError
	if errors.As(err, &re) {
		return &resource.RefusedError{Message: fmt.Sprintf("release order %s, item %s (items[%d]): %s", o.ID, app, i, re.Message), Forbidden: re.Forbidden}
	}
	var ve *resource.ValidationError
	if errors.As(err, &ve) {
		out := &resource.ValidationError{}
		for _, f := range ve.Fields {
			if f.Path == "grayVersion" {
				f.Path = fmt.Sprintf("items[%d].version", i)
			}
			out.Fields = append(out.Fields, f)
		}
		return out
	}
	return fmt.Errorf("release order %s, item %s (items[%d]): %w", o.ID, app, i, err)
}

func items(o release.Order) string {
	parts := make([]string, len(o.Items))
	for i, it := range o.Items {
		parts[i] = it.Application + "→" + it.Version
	}
	return strings.Join(parts, ", ")
}
