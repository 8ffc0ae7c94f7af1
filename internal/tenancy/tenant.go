package tenancy

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

func validateTenant(t Tenant) error {
	var errs resource.Errors
	errs.CheckName("name", t.Name)
	errs.CheckLen("displayName", t.DisplayName, 200)
	errs.CheckLen("description", t.Description, 2000)
	return errs.Err()
}

// CreateTenant creates t (its Name, DisplayName and Description; the rest
// is set here) and returns it as stored.
func (s *Service) CreateTenant(ctx context.Context, st Store, a audit.Actor, t Tenant) (Tenant, error) {
	if err := validateTenant(t); err != nil {
		return Tenant{}, err
	}
	now := s.now()
	t.ResourceVersion, t.CreatedAt, t.UpdatedAt = 1, now, now
	if err := st.CreateTenant(ctx, t); err != nil {
		return Tenant{}, fmt.Errorf("create tenant %s: %w", t.Name, err)
	}
	return t, s.record(ctx, st, a, audit.Event{Tenant: t.Name, Action: "tenant.create", Target: tenantPath(t.Name),
		Summary: fmt.Sprintf("created tenant %s", t.Name)})
}

// UpdateTenant replaces the tenant's DisplayName and Description;
// t.ResourceVersion must be the version read.
func (s *Service) UpdateTenant(ctx context.Context, st Store, a audit.Actor, t Tenant) (Tenant, error) {
	if err := validateTenant(t); err != nil {
		return Tenant{}, err
	}
	var errs resource.Errors
	checkRV(&errs, t.ResourceVersion)
	if err := errs.Err(); err != nil {
		return Tenant{}, err
	}
	old, err := st.GetTenant(ctx, t.Name)
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", t.Name, err)
	}
	prev := t.ResourceVersion
	t.CreatedAt, t.UpdatedAt, t.ResourceVersion = old.CreatedAt, s.now(), old.ResourceVersion+1
	if err := st.UpdateTenant(ctx, t, prev); err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", t.Name, err)
	}
	return t, s.record(ctx, st, a, audit.Event{Tenant: t.Name, Action: "tenant.update", Target: tenantPath(t.Name),
		Summary: fmt.Sprintf("updated tenant %s", t.Name)})
}

// DeleteTenant deletes an empty tenant (resource.ErrInUse while it has
// projects) with its members and quota. rv 0 skips the version check.
func (s *Service) DeleteTenant(ctx context.Context, st Store, a audit.Actor, name string, rv int64) error {
	if err := st.DeleteTenant(ctx, name, rv); err != nil {
		return fmt.Errorf("delete tenant %s: %w", name, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: name, Action: "tenant.delete", Target: tenantPath(name),
		Summary: fmt.Sprintf("deleted tenant %s", name)})
}

// GetTenant returns the named tenant.
func (s *Service) GetTenant(ctx context.Context, st Store, name string) (Tenant, error) {
	t, err := st.GetTenant(ctx, name)
	return t, wrap("get tenant "+name, err)
}

// ListTenants returns a page of tenants by name.
func (s *Service) ListTenants(ctx context.Context, st Store, o resource.ListOptions) (resource.Page[Tenant], error) {
	return page(o, func(t Tenant) string { return t.Name }, func(after string, limit int) ([]Tenant, error) {
		return st.ListTenants(ctx, after, limit)
	})
}
