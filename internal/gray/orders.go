package gray

import (
	"context"
	"errors"
	"strings"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// PlanReader reads gray plans; every Store is one.
type PlanReader interface {
	GetPlan(ctx context.Context, k deploy.Key) (Plan, error)
}

// NoActivePlan refuses to run release order o (start it, or start the
// rollback order it is) while one of its applications has a running or
// promoted gray plan in the order's environment: the order would deploy
// over the plan's versions. A plan of the order's own gray group names the
// group to act on instead.
func NoActivePlan(ctx context.Context, st PlanReader, o release.Order) error {
	for _, it := range o.Items {
		p, err := st.GetPlan(ctx, deploy.Key{Tenant: o.Tenant, Project: o.Project, Application: it.Application, Environment: o.Environment})
		if errors.Is(err, resource.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if p.Phase.Active() && p.Group == o.ID {
			return resource.Refused("release order %s cannot start: it is being released by its gray group "+
				"(berth gray status --order %s); promote or abort that instead", o.ID, o.ID)
		}
		if p.Phase.Active() {
			return resource.Refused("release order %s cannot start: %s in %s has a %s gray plan (version %s); promote, abort or end it first",
				o.ID, it.Application, o.Environment, strings.ToLower(string(p.Phase)), p.GrayVersion)
		}
	}
	return nil
}
