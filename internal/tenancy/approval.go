package tenancy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// ApprovalFloor is the least number of approvals a release order needs in
// an environment, set by tenant admins for their tenant (Tenant set) or by
// platform admins for every tenant (Tenant empty). Environments are
// classed by name (prod, uat, ...): Environments gives the floor of a
// class, Default that of every name not listed. An environment's floor is
// the higher of the platform's and its tenant's; its RequiredApprovals may
// raise it, never lower it.
//
// Raising a floor takes effect at once. A change that lowers any floor is
// only proposed (Pending) and takes effect when a second admin, not the
// proposer, approves it: four eyes on the rule that enforces four eyes.
type ApprovalFloor struct {
	Tenant       string         `json:"tenant,omitempty"`
	Default      int            `json:"default"`
	Environments map[string]int `json:"environments,omitempty"`
	// Pending is a proposed lowering awaiting a second admin.
	Pending         *FloorChange `json:"pending,omitempty"`
	ResourceVersion int64        `json:"resourceVersion"`
	UpdatedAt       time.Time    `json:"updatedAt,omitzero"`
	UpdatedBy       string       `json:"updatedBy,omitempty"`
}

// FloorChange is a new Default and Environments for an ApprovalFloor; as
// a pending proposal it names who proposed it and when.
type FloorChange struct {
	Default      int            `json:"default"`
	Environments map[string]int `json:"environments,omitempty"`
	ProposedBy   string         `json:"proposedBy,omitempty"`
	ProposedAt   time.Time      `json:"proposedAt,omitzero"`
}

// For returns the floor of environments named env.
func (f ApprovalFloor) For(env string) int {
	if n, ok := f.Environments[env]; ok {
		return n
	}
	return f.Default
}

// MaxFloorClasses bounds the classes of one floor.
const MaxFloorClasses = 100

func floorPath(tenant string) string {
	if tenant == "" {
		return "platform/approval-floor"
	}
	return tenantPath(tenant) + "/approval-floor"
}

func floorScope(tenant string) string {
	if tenant == "" {
		return "the platform"
	}
	return "tenant " + tenant
}

func validateFloor(c FloorChange) error {
	var errs resource.Errors
	check := func(path string, n int) {
		if n < 0 || n > MaxRequiredApprovals {
			errs.Add(path, "want 0 to %d approvers, got %d", MaxRequiredApprovals, n)
		}
	}
	check("default", c.Default)
	if len(c.Environments) > MaxFloorClasses {
		errs.Add("environments", "at most %d classes, got %d", MaxFloorClasses, len(c.Environments))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Environments)) {
		errs.CheckName("environments."+k, k)
		check("environments."+k, c.Environments[k])
	}
	return errs.Err()
}

// lowers reports whether applying c to f lowers the floor of any
// environment name.
func lowers(f ApprovalFloor, c FloorChange) bool {
	next := ApprovalFloor{Default: c.Default, Environments: c.Environments}
	if next.Default < f.Default {
		return true
	}
	for k := range maps.Keys(f.Environments) {
		if next.For(k) < f.For(k) {
			return true
		}
	}
	for k := range maps.Keys(c.Environments) {
		if next.For(k) < f.For(k) {
			return true
		}
	}
	return false
}

// GetApprovalFloor returns the floor of tenant (the platform's when
// empty); one never set is all zeros with ResourceVersion 0.
func (s *Service) GetApprovalFloor(ctx context.Context, st Store, tenant string) (ApprovalFloor, error) {
	f, err := st.GetApprovalFloor(ctx, tenant)
	if errors.Is(err, resource.ErrNotFound) {
		if tenant != "" {
			if _, err := st.GetTenant(ctx, tenant); err != nil {
				return ApprovalFloor{}, fmt.Errorf("approval floor of tenant %s: %w", tenant, err)
			}
		}
		return ApprovalFloor{Tenant: tenant}, nil
	}
	return f, wrap("approval floor of "+floorScope(tenant), err)
}

// SetApprovalFloor sets the floor of tenant (the platform's when empty) to
// c, at once when no environment's floor goes down, else as a proposal a
// second admin approves (ApproveApprovalFloor). rv is the version read (0
// for a floor never set). While a proposal is pending, no other change is
// accepted.
func (s *Service) SetApprovalFloor(ctx context.Context, st Store, a audit.Actor, tenant string, c FloorChange, rv int64) (ApprovalFloor, error) {
	c.ProposedBy, c.ProposedAt = "", time.Time{}
	if err := validateFloor(c); err != nil {
		return ApprovalFloor{}, err
	}
	f, err := s.GetApprovalFloor(ctx, st, tenant)
	if err != nil {
		return ApprovalFloor{}, err
	}
	if rv != f.ResourceVersion {
		return ApprovalFloor{}, fmt.Errorf("set approval floor of %s: %w", floorScope(tenant), resource.ErrConflict)
	}
	if f.Pending != nil {
		return ApprovalFloor{}, resource.Refused("a change of the approval floor of %s proposed by %s is pending: approve or withdraw it first",
			floorScope(tenant), f.Pending.ProposedBy)
	}
	now := s.now()
	ev := audit.Event{Tenant: tenant, Target: floorPath(tenant)}
	if lowers(f, c) {
		c.ProposedBy, c.ProposedAt = a.User, now
		f.Pending = &c
		ev.Action = "approvalfloor.propose"
		ev.Summary = fmt.Sprintf("proposed to lower the approval floor of %s to default %d, by environment %v (was default %d, %v); "+
			"it takes effect once another admin approves", floorScope(tenant), c.Default, c.Environments, f.Default, f.Environments)
	} else {
		ev.Action = "approvalfloor.set"
		ev.Summary = fmt.Sprintf("set the approval floor of %s to default %d, by environment %v (was default %d, %v)",
			floorScope(tenant), c.Default, c.Environments, f.Default, f.Environments)
		f.Default, f.Environments = c.Default, c.Environments
	}
	return s.putFloor(ctx, st, a, f, ev)
}

// ApproveApprovalFloor applies the pending lowering of tenant's floor (the
// platform's when empty). The proposer cannot approve it.
func (s *Service) ApproveApprovalFloor(ctx context.Context, st Store, a audit.Actor, tenant string) (ApprovalFloor, error) {
	f, err := s.GetApprovalFloor(ctx, st, tenant)
	if err != nil {
		return ApprovalFloor{}, err
	}
	p := f.Pending
	switch {
	case p == nil:
		return ApprovalFloor{}, resource.Refused("no change of the approval floor of %s is pending", floorScope(tenant))
	case p.ProposedBy == a.User:
		return ApprovalFloor{}, resource.Forbidden("%s proposed this change of the approval floor of %s: another admin must approve it (four eyes)",
			a.User, floorScope(tenant))
	}
	ev := audit.Event{Tenant: tenant, Target: floorPath(tenant), Action: "approvalfloor.approve",
		Summary: fmt.Sprintf("approved the lowering of the approval floor of %s proposed by %s: now default %d, by environment %v (was default %d, %v)",
			floorScope(tenant), p.ProposedBy, p.Default, p.Environments, f.Default, f.Environments)}
	f.Default, f.Environments, f.Pending = p.Default, p.Environments, nil
	return s.putFloor(ctx, st, a, f, ev)
}

// WithdrawApprovalFloor drops the pending change of tenant's floor (the
// platform's when empty); any admin of the scope may.
func (s *Service) WithdrawApprovalFloor(ctx context.Context, st Store, a audit.Actor, tenant string) (ApprovalFloor, error) {
	f, err := s.GetApprovalFloor(ctx, st, tenant)
	if err != nil {
		return ApprovalFloor{}, err
	}
	if f.Pending == nil {
		return ApprovalFloor{}, resource.Refused("no change of the approval floor of %s is pending", floorScope(tenant))
	}
	ev := audit.Event{Tenant: tenant, Target: floorPath(tenant), Action: "approvalfloor.withdraw",
		Summary: fmt.Sprintf("withdrew the change of the approval floor of %s proposed by %s", floorScope(tenant), f.Pending.ProposedBy)}
	f.Pending = nil
	return s.putFloor(ctx, st, a, f, ev)
}

func (s *Service) putFloor(ctx context.Context, st Store, a audit.Actor, f ApprovalFloor, ev audit.Event) (ApprovalFloor, error) {
	prev := f.ResourceVersion
	f.ResourceVersion, f.UpdatedAt, f.UpdatedBy = prev+1, s.now(), a.User
	if err := st.PutApprovalFloor(ctx, f, prev); err != nil {
		return ApprovalFloor{}, fmt.Errorf("approval floor of %s: %w", floorScope(f.Tenant), err)
	}
	return f, s.record(ctx, st, a, ev)
}

// FloorReader reads approval floors; every tenancy.Store is one.
type FloorReader interface {
	GetApprovalFloor(ctx context.Context, tenant string) (ApprovalFloor, error)
}

// EnvironmentFloor returns the approval floor of environment env of
// tenant: the higher of the platform's and the tenant's.
func EnvironmentFloor(ctx context.Context, st FloorReader, tenant, env string) (int, error) {
	floor := 0
	for _, scope := range []string{"", tenant} {
		f, err := st.GetApprovalFloor(ctx, scope)
		if errors.Is(err, resource.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("approval floor of %s: %w", floorScope(scope), err)
		}
		floor = max(floor, f.For(env))
	}
	return floor, nil
}

// checkFloor refuses an environment asking fewer approvals than its floor.
func checkFloor(ctx context.Context, st Store, e Environment) error {
	floor, err := EnvironmentFloor(ctx, st, e.Tenant, e.Name)
	if err != nil {
		return err
	}
	if e.RequiredApprovals < floor {
		return fieldError("requiredApprovals", "must be at least %d, the approval floor of %s environments in tenant %s "+
			"(set by a tenant or platform admin); it may be raised here, never lowered", floor, e.Name, e.Tenant)
	}
	return nil
}
