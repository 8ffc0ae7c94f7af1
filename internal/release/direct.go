package release

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// The rules a change made outside a release order (a direct deploy, stop,
// undeploy, a gray plan's start or promotion) must pass. The application
// layer (internal/platform) checks them for every entry point; the order
// itself changes deployments through deploy.Service and is bound by
// neither.

// LockReader reads which running order holds an application; every Store
// is one.
type LockReader interface {
	// GetLock returns who holds an application, resource.ErrNotFound if
	// no running order does.
	GetLock(ctx context.Context, tenant, project, environment, application string) (Lock, error)
}

// NotHeld refuses a direct change of k's application while a running
// release order holds it: the order owns its version until it ends.
func NotHeld(ctx context.Context, st LockReader, k deploy.Key) error {
	l, err := st.GetLock(ctx, k.Tenant, k.Project, k.Environment, k.Application)
	if errors.Is(err, resource.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock of %s: %w", k.Path(), err)
	}
	return resource.Refused("%s in %s is being released by order %s; change it through the order (abort or roll back) or wait for it to end",
		k.Application, k.Environment, l.Order)
}

// ApprovalReader reads what an environment asks of a change: the
// environment and the approval floors over it; every Store is one.
type ApprovalReader interface {
	GetEnvironment(ctx context.Context, tenant, project, name string) (tenancy.Environment, error)
	tenancy.FloorReader
}

// RequiredApprovals is how many approvals a change of what runs in env
// needs: the higher of the environment's own number and the approval
// floor of its tenant and of the platform.
func RequiredApprovals(ctx context.Context, st tenancy.FloorReader, env tenancy.Environment) (int, error) {
	floor, err := tenancy.EnvironmentFloor(ctx, st, env.Tenant, env.Name)
	if err != nil {
		return 0, err
	}
	return max(env.RequiredApprovals, floor), nil
}

// Unapproved refuses a direct change of the version that runs in k's
// environment (what says which, "deploy v2") when the environment requires
// approvals: there, only an approved release order changes versions (four
// eyes), whether it deploys them (release start) or runs them by gray
// plans (gray start --order). Operations that keep the version (scale,
// stop, start, restart, undeploy) are not changes of version.
func Unapproved(ctx context.Context, st ApprovalReader, k deploy.Key, what string) error {
	env, err := st.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment)
	if err != nil {
		return fmt.Errorf("environment %s of %s/%s: %w", k.Environment, k.Tenant, k.Project, err)
	}
	n, err := RequiredApprovals(ctx, st, env)
	if err != nil || n == 0 {
		return err
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return resource.Refused("%s of %s cannot be made directly: environment %s requires %d approval%s, so the version that runs there "+
		"changes only through an approved release order (berth release create -e %s --stage %s=VERSION, then approve and start it, "+
		"or gray start --order); scale, stop, start and restart stay direct",
		what, k.Application, k.Environment, n, plural, k.Environment, k.Application)
}
