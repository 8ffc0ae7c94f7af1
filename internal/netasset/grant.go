package netasset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// Pool returns a cluster's port pool: DefaultPool until one is set.
func (s *Service) Pool(ctx context.Context, st Store, cluster string) (Grant, error) {
	if _, err := st.GetCluster(ctx, cluster); err != nil {
		return Grant{}, fmt.Errorf("pool of cluster %s: %w", cluster, err)
	}
	return poolOf(ctx, st, cluster)
}

func poolOf(ctx context.Context, st Store, cluster string) (Grant, error) {
	g, err := st.GetGrant(ctx, cluster, "", "")
	if errors.Is(err, resource.ErrNotFound) {
		return Grant{Cluster: cluster, Ports: DefaultPool}, nil
	}
	return g, wrap("pool of cluster "+cluster, err)
}

// parent returns the grant g is carved from: the cluster's pool for a
// tenant, the tenant's grant for a project.
func parent(ctx context.Context, st Store, g Grant) (Grant, error) {
	if g.Project == "" {
		return poolOf(ctx, st, g.Cluster)
	}
	p, err := st.GetGrant(ctx, g.Cluster, g.Tenant, "")
	if errors.Is(err, resource.ErrNotFound) {
		return Grant{Cluster: g.Cluster, Tenant: g.Tenant}, nil
	}
	return p, err
}

func validateGrant(g Grant) error {
	var errs resource.Errors
	errs.CheckName("cluster", g.Cluster)
	if g.Tenant != "" {
		errs.CheckName("tenant", g.Tenant)
	}
	if g.Project != "" {
		errs.CheckName("project", g.Project)
	}
	errs.CheckNonNegative("resourceVersion", g.ResourceVersion)
	if g.Tenant == "" && g.Ports.Empty() {
		errs.Add("ports", "a cluster's pool must not be empty")
	}
	return errs.Err()
}

// SetGrant sets a cluster's pool (Tenant empty), a tenant's ports on a
// cluster (Project empty) or a project's ports out of its tenant's; empty
// Ports takes a tenant's or project's grant back. It refuses, at field
// "ports" with the ports named: ports outside the parent grant, ports
// already granted to a sibling, and dropping ports still granted below or
// allocated. g.ResourceVersion is the version read; a stale one is
// resource.ErrConflict, 0 writes without the check.
func (s *Service) SetGrant(ctx context.Context, st Store, a audit.Actor, g Grant) (Grant, error) {
	if err := validateGrant(g); err != nil {
		return Grant{}, err
	}
	what := "set ports of " + g.Scope()
	if err := s.checkOwners(ctx, st, g); err != nil {
		return Grant{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := s.checkGrant(ctx, st, g); err != nil {
		return Grant{}, err
	}
	prev := g.ResourceVersion
	old, err := st.GetGrant(ctx, g.Cluster, g.Tenant, g.Project)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		old = Grant{}
		if prev != 0 {
			return Grant{}, fmt.Errorf("%s: %w", what, resource.ErrConflict)
		}
	case err != nil:
		return Grant{}, fmt.Errorf("%s: %w", what, err)
	case prev != 0 && prev != old.ResourceVersion:
		return Grant{}, fmt.Errorf("%s: %w", what, resource.ErrConflict)
	}
	g.ResourceVersion, g.UpdatedAt = old.ResourceVersion+1, s.now()
	if g.Ports.Empty() {
		err = st.DeleteGrant(ctx, g.Cluster, g.Tenant, g.Project)
	} else {
		err = st.PutGrant(ctx, g, old.ResourceVersion)
	}
	if err != nil {
		return Grant{}, fmt.Errorf("%s: %w", what, err)
	}
	summary := fmt.Sprintf("set ports of %s to %q (were %q)", g.Scope(), g.Ports.String(), old.Ports.String())
	return g, s.record(ctx, st, a, audit.Event{Tenant: g.Tenant, Project: g.Project, Action: "ports.set",
		Target: grantPath(g.Cluster, g.Tenant, g.Project), Summary: summary})
}

func (s *Service) checkOwners(ctx context.Context, st Store, g Grant) error {
	if _, err := st.GetCluster(ctx, g.Cluster); err != nil {
		return fmt.Errorf("cluster %s: %w", g.Cluster, err)
	}
	if g.Tenant != "" {
		if _, err := st.GetTenant(ctx, g.Tenant); err != nil {
			return fmt.Errorf("tenant %s: %w", g.Tenant, err)
		}
	}
	if g.Project != "" {
		if _, err := st.GetProject(ctx, g.Tenant, g.Project); err != nil {
			return fmt.Errorf("project %s/%s: %w", g.Tenant, g.Project, err)
		}
	}
	return nil
}

// checkGrant applies the containment rules of SetGrant.
func (s *Service) checkGrant(ctx context.Context, st Store, g Grant) error {
	var errs resource.Errors
	if g.Tenant != "" {
		p, err := parent(ctx, st, g)
		if err != nil {
			return err
		}
		if out := g.Ports.Subtract(p.Ports); !out.Empty() {
			errs.Add("ports", "ports %s are outside the ports of %s (%s)", out, p.Scope(), orNone(p.Ports))
		}
		under := ""
		if g.Project != "" {
			under = g.Tenant
		}
		siblings, err := st.ListGrants(ctx, g.Cluster, under)
		if err != nil {
			return err
		}
		for _, o := range siblings {
			if (o.Tenant == g.Tenant && o.Project == g.Project) || (g.Project != "" && o.Project == "") {
				continue
			}
			if both := g.Ports.Intersect(o.Ports); !both.Empty() {
				errs.Add("ports", "ports %s are already granted to %s", both, o.Scope())
			}
		}
	}
	children, err := childGrants(ctx, st, g)
	if err != nil {
		return err
	}
	for _, c := range children {
		if lost := c.Ports.Subtract(g.Ports); !lost.Empty() {
			errs.Add("ports", "ports %s are granted to %s; take them back there first", lost, c.Scope())
		}
	}
	used, err := st.ListAllocations(ctx, AllocationFilter{Cluster: g.Cluster, Tenant: g.Tenant, Project: g.Project})
	if err != nil {
		return err
	}
	for _, al := range used {
		if !g.Ports.Contains(al.Port) {
			errs.Add("ports", "port %d is used by %s (%s); stop exposing it first", al.Port, al.Holder(), al.PortName)
		}
	}
	return errs.Err()
}

// childGrants lists the grants carved from g: a cluster's tenants, a
// tenant's projects; a project has none.
func childGrants(ctx context.Context, st Store, g Grant) ([]Grant, error) {
	switch {
	case g.Tenant == "":
		return st.ListGrants(ctx, g.Cluster, "")
	case g.Project == "":
		all, err := st.ListGrants(ctx, g.Cluster, g.Tenant)
		return slices.DeleteFunc(all, func(c Grant) bool { return c.Project == "" }), err
	}
	return nil, nil
}

func orNone(p PortSet) string {
	if p.Empty() {
		return "none"
	}
	return p.String()
}

// View returns the ports of a cluster (tenant empty), a tenant or a project
// on a cluster: granted, allotted further down, used and free, with the
// grants below it and the allocations inside it.
func (s *Service) View(ctx context.Context, st Store, cluster, tenant, project string) (PortView, error) {
	g := Grant{Cluster: cluster, Tenant: tenant, Project: project}
	what := "ports of " + g.Scope()
	if err := s.checkOwners(ctx, st, g); err != nil {
		return PortView{}, fmt.Errorf("%s: %w", what, err)
	}
	var err error
	if tenant == "" {
		g, err = poolOf(ctx, st, cluster)
	} else if g, err = st.GetGrant(ctx, cluster, tenant, project); errors.Is(err, resource.ErrNotFound) {
		g, err = Grant{Cluster: cluster, Tenant: tenant, Project: project}, nil
	}
	if err != nil {
		return PortView{}, fmt.Errorf("%s: %w", what, err)
	}
	v := PortView{Cluster: cluster, Tenant: tenant, Project: project, Ports: g.Ports, ResourceVersion: g.ResourceVersion}
	if v.Grants, err = childGrants(ctx, st, g); err != nil {
		return PortView{}, fmt.Errorf("%s: %w", what, err)
	}
	for _, c := range v.Grants {
		v.Allotted = v.Allotted.Union(c.Ports)
	}
	if v.Holders, err = st.ListAllocations(ctx, AllocationFilter{Cluster: cluster, Tenant: tenant, Project: project}); err != nil {
		return PortView{}, fmt.Errorf("%s: %w", what, err)
	}
	ports := make([]int, len(v.Holders))
	for i, al := range v.Holders {
		ports[i] = al.Port
	}
	v.Used = Of(ports...)
	v.Free = g.Ports.Subtract(v.Used)
	if project == "" {
		v.Free = v.Free.Subtract(v.Allotted)
	}
	return v, nil
}

// Views returns View for every cluster where the tenant (or project) holds
// a grant, by cluster.
func (s *Service) Views(ctx context.Context, st Store, tenant, project string) ([]PortView, error) {
	grants, err := st.ListGrants(ctx, "", tenant)
	if err != nil {
		return nil, fmt.Errorf("port grants of %s: %w", tenant, err)
	}
	var out []PortView
	for _, g := range grants {
		if g.Tenant != tenant || g.Project != project {
			continue
		}
		v, err := s.View(ctx, st, g.Cluster, tenant, project)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b PortView) int { return strings.Compare(a.Cluster, b.Cluster) })
	return out, nil
}
