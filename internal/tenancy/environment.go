package tenancy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

func validateEnvironment(e Environment) error {
	var errs resource.Errors
	errs.CheckName("tenant", e.Tenant)
	errs.CheckName("project", e.Project)
	errs.CheckName("name", e.Name)
	errs.CheckName("cluster", e.Cluster)
	errs.CheckName("namespace", e.Namespace)
	errs.CheckLen("description", e.Description, 2000)
	if e.Traffic != "" && !slices.Contains(TrafficProviders, e.Traffic) {
		errs.Add("traffic", "want one of %s, got %q", strings.Join(TrafficProviders, ", "), e.Traffic)
	}
	if e.Traffic == TrafficGatewayAPI && e.Gateway == "" {
		errs.Add("gateway", "the gatewayapi traffic provider needs the Gateway its routes attach to (name or namespace/name)")
	}
	errs.CheckLen("gateway", e.Gateway, 253)
	if e.RequiredApprovals < 0 || e.RequiredApprovals > MaxRequiredApprovals {
		errs.Add("requiredApprovals", "want 0 to %d approvers, got %d", MaxRequiredApprovals, e.RequiredApprovals)
	}
	return errs.Err()
}

func (s *Service) checkEnvRefs(ctx context.Context, st Store, e Environment) error {
	if _, err := st.GetProject(ctx, e.Tenant, e.Project); err != nil {
		return fmt.Errorf("project %s/%s: %w", e.Tenant, e.Project, err)
	}
	if _, err := st.GetCluster(ctx, e.Cluster); err != nil {
		return fmt.Errorf("cluster %s: %w", e.Cluster, err)
	}
	return nil
}

// CreateEnvironment creates e in its project, bound to a registered
// cluster's namespace that no other environment uses (else
// resource.ErrAlreadyExists) and that the environment may use
// (checkNamespace), asking at least its approval floor.
func (s *Service) CreateEnvironment(ctx context.Context, st Store, a audit.Actor, e Environment) (Environment, error) {
	if err := validateEnvironment(e); err != nil {
		return Environment{}, err
	}
	what := fmt.Sprintf("create environment %s/%s/%s", e.Tenant, e.Project, e.Name)
	if err := s.checkEnvRefs(ctx, st, e); err != nil {
		return Environment{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkFloor(ctx, st, e); err != nil {
		return Environment{}, err
	}
	if err := s.checkNamespace(ctx, st, e); err != nil {
		return Environment{}, err
	}
	now := s.now()
	e.ResourceVersion, e.CreatedAt, e.UpdatedAt = 1, now, now
	if err := st.CreateEnvironment(ctx, e); err != nil {
		return Environment{}, fmt.Errorf("%s: %w", what, err)
	}
	return e, s.record(ctx, st, a, audit.Event{Tenant: e.Tenant, Project: e.Project, Action: "environment.create",
		Target:  envPath(e.Tenant, e.Project, e.Name),
		Summary: fmt.Sprintf("created environment %s bound to cluster %s namespace %s", e.Name, e.Cluster, e.Namespace)})
}

// UpdateEnvironment rebinds or redescribes an environment;
// e.ResourceVersion must be the version read. A new binding is checked as
// CreateEnvironment checks it; RequiredApprovals never goes below the
// environment's approval floor.
func (s *Service) UpdateEnvironment(ctx context.Context, st Store, a audit.Actor, e Environment) (Environment, error) {
	if err := validateEnvironment(e); err != nil {
		return Environment{}, err
	}
	var errs resource.Errors
	checkRV(&errs, e.ResourceVersion)
	if err := errs.Err(); err != nil {
		return Environment{}, err
	}
	what := fmt.Sprintf("update environment %s/%s/%s", e.Tenant, e.Project, e.Name)
	old, err := st.GetEnvironment(ctx, e.Tenant, e.Project, e.Name)
	if err != nil {
		return Environment{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := s.checkEnvRefs(ctx, st, e); err != nil {
		return Environment{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := checkFloor(ctx, st, e); err != nil {
		return Environment{}, err
	}
	if old.Cluster != e.Cluster || old.Namespace != e.Namespace {
		if err := s.checkNamespace(ctx, st, e); err != nil {
			return Environment{}, err
		}
	}
	prev := e.ResourceVersion
	e.CreatedAt, e.UpdatedAt, e.ResourceVersion = old.CreatedAt, s.now(), old.ResourceVersion+1
	if err := st.UpdateEnvironment(ctx, e, prev); err != nil {
		return Environment{}, fmt.Errorf("%s: %w", what, err)
	}
	return e, s.record(ctx, st, a, audit.Event{Tenant: e.Tenant, Project: e.Project, Action: "environment.update",
		Target: envPath(e.Tenant, e.Project, e.Name),
		Summary: fmt.Sprintf("updated environment %s: cluster %s namespace %s, %d release approvals required",
			e.Name, e.Cluster, e.Namespace, e.RequiredApprovals)})
}

// DeleteEnvironment deletes an environment. rv 0 skips the version check.
func (s *Service) DeleteEnvironment(ctx context.Context, st Store, a audit.Actor, tenant, project, name string, rv int64) error {
	if err := st.DeleteEnvironment(ctx, tenant, project, name, rv); err != nil {
		return fmt.Errorf("delete environment %s/%s/%s: %w", tenant, project, name, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: tenant, Project: project, Action: "environment.delete",
		Target: envPath(tenant, project, name), Summary: fmt.Sprintf("deleted environment %s", name)})
}

// GetEnvironment returns the named environment.
func (s *Service) GetEnvironment(ctx context.Context, st Store, tenant, project, name string) (Environment, error) {
	e, err := st.GetEnvironment(ctx, tenant, project, name)
	return e, wrap("get environment "+tenant+"/"+project+"/"+name, err)
}

// ListEnvironments returns a page of a project's environments by name.
func (s *Service) ListEnvironments(ctx context.Context, st Store, tenant, project string, o resource.ListOptions) (resource.Page[Environment], error) {
	return page(o, func(e Environment) string { return e.Name }, func(after string, limit int) ([]Environment, error) {
		return st.ListEnvironments(ctx, tenant, project, after, limit)
	})
}
