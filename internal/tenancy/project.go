package tenancy

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

func validateProject(p Project) error {
	var errs resource.Errors
	errs.CheckName("tenant", p.Tenant)
	errs.CheckName("name", p.Name)
	errs.CheckLen("displayName", p.DisplayName, 200)
	errs.CheckLen("description", p.Description, 2000)
	return errs.Err()
}

// CreateProject creates p in its tenant, which must exist.
func (s *Service) CreateProject(ctx context.Context, st Store, a audit.Actor, p Project) (Project, error) {
	if err := validateProject(p); err != nil {
		return Project{}, err
	}
	if _, err := st.GetTenant(ctx, p.Tenant); err != nil {
		return Project{}, fmt.Errorf("create project %s/%s: tenant %s: %w", p.Tenant, p.Name, p.Tenant, err)
	}
	now := s.now()
	p.ResourceVersion, p.CreatedAt, p.UpdatedAt = 1, now, now
	if err := st.CreateProject(ctx, p); err != nil {
		return Project{}, fmt.Errorf("create project %s/%s: %w", p.Tenant, p.Name, err)
	}
	return p, s.record(ctx, st, a, audit.Event{Tenant: p.Tenant, Project: p.Name, Action: "project.create",
		Target: projectPath(p.Tenant, p.Name), Summary: fmt.Sprintf("created project %s/%s", p.Tenant, p.Name)})
}

// UpdateProject replaces the project's DisplayName and Description;
// p.ResourceVersion must be the version read.
func (s *Service) UpdateProject(ctx context.Context, st Store, a audit.Actor, p Project) (Project, error) {
	if err := validateProject(p); err != nil {
		return Project{}, err
	}
	var errs resource.Errors
	checkRV(&errs, p.ResourceVersion)
	if err := errs.Err(); err != nil {
		return Project{}, err
	}
	old, err := st.GetProject(ctx, p.Tenant, p.Name)
	if err != nil {
		return Project{}, fmt.Errorf("update project %s/%s: %w", p.Tenant, p.Name, err)
	}
	prev := p.ResourceVersion
	p.CreatedAt, p.UpdatedAt, p.ResourceVersion = old.CreatedAt, s.now(), old.ResourceVersion+1
	if err := st.UpdateProject(ctx, p, prev); err != nil {
		return Project{}, fmt.Errorf("update project %s/%s: %w", p.Tenant, p.Name, err)
	}
	return p, s.record(ctx, st, a, audit.Event{Tenant: p.Tenant, Project: p.Name, Action: "project.update",
		Target: projectPath(p.Tenant, p.Name), Summary: fmt.Sprintf("updated project %s/%s", p.Tenant, p.Name)})
}

// DeleteProject deletes an empty project (resource.ErrInUse while it has
// applications or environments) with its members and quota. rv 0 skips
// the version check.
func (s *Service) DeleteProject(ctx context.Context, st Store, a audit.Actor, tenant, name string, rv int64) error {
	if err := st.DeleteProject(ctx, tenant, name, rv); err != nil {
		return fmt.Errorf("delete project %s/%s: %w", tenant, name, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: tenant, Project: name, Action: "project.delete",
		Target: projectPath(tenant, name), Summary: fmt.Sprintf("deleted project %s/%s", tenant, name)})
}

// GetProject returns the named project.
func (s *Service) GetProject(ctx context.Context, st Store, tenant, name string) (Project, error) {
	p, err := st.GetProject(ctx, tenant, name)
	return p, wrap("get project "+tenant+"/"+name, err)
}

// ListProjects returns a page of a tenant's projects by name.
func (s *Service) ListProjects(ctx context.Context, st Store, tenant string, o resource.ListOptions) (resource.Page[Project], error) {
	return page(o, func(p Project) string { return p.Name }, func(after string, limit int) ([]Project, error) {
		return st.ListProjects(ctx, tenant, after, limit)
	})
}
