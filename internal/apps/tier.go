package apps

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

func validateTier(t Tier) error {
	var errs resource.Errors
	errs.CheckName("name", t.Name)
	errs.CheckLen("displayName", t.DisplayName, 200)
	errs.CheckLen("description", t.Description, 2000)
	errs.CheckLen("capacity", t.Capacity, 200)
	validateResources(&errs, "resources", t.Resources)
	for _, n := range []resource.Name{resource.CPU, resource.Memory} {
		if t.Resources.Requests[n] <= 0 {
			errs.Add("resources.requests."+string(n), "must be set and positive")
		}
	}
	for _, n := range t.Resources.Requests.Names() {
		if n == resource.Containers || n == resource.ConfigItems {
			errs.Add("resources.requests."+string(n), "is not a container resource; want cpu, memory or storage")
		}
	}
	return errs.Err()
}

// CreateTier defines a resource tier (platform admins only: the API checks).
func (s *Service) CreateTier(ctx context.Context, st Store, a audit.Actor, t Tier) (Tier, error) {
	if err := validateTier(t); err != nil {
		return Tier{}, err
	}
	now := s.now()
	t.ResourceVersion, t.CreatedAt, t.UpdatedAt = 1, now, now
	if err := st.CreateTier(ctx, t); err != nil {
		return Tier{}, fmt.Errorf("create tier %s: %w", t.Name, err)
	}
	return t, s.record(ctx, st, a, audit.Event{Action: "tier.create", Target: "tiers/" + t.Name,
		Summary: fmt.Sprintf("created tier %s (%s)", t.Name, t.Capacity)})
}

// UpdateTier replaces a tier; t.ResourceVersion must be the version read.
// Existing versions keep the resources they copied at creation.
func (s *Service) UpdateTier(ctx context.Context, st Store, a audit.Actor, t Tier) (Tier, error) {
	if err := validateTier(t); err != nil {
		return Tier{}, err
	}
	if t.ResourceVersion <= 0 {
		return Tier{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "resourceVersion",
			Reason: fmt.Sprintf("must be the resourceVersion that was read (a positive number), got %d", t.ResourceVersion)}}}
	}
	old, err := st.GetTier(ctx, t.Name)
	if err != nil {
		return Tier{}, fmt.Errorf("update tier %s: %w", t.Name, err)
	}
	prev := t.ResourceVersion
	t.CreatedAt, t.UpdatedAt, t.ResourceVersion = old.CreatedAt, s.now(), old.ResourceVersion+1
	if err := st.UpdateTier(ctx, t, prev); err != nil {
		return Tier{}, fmt.Errorf("update tier %s: %w", t.Name, err)
	}
	return t, s.record(ctx, st, a, audit.Event{Action: "tier.update", Target: "tiers/" + t.Name,
		Summary: fmt.Sprintf("updated tier %s (%s)", t.Name, t.Capacity)})
}

// DeleteTier deletes a tier no version uses (else resource.ErrInUse). rv 0
// skips the version check.
func (s *Service) DeleteTier(ctx context.Context, st Store, a audit.Actor, name string, rv int64) error {
	if err := st.DeleteTier(ctx, name, rv); err != nil {
		return fmt.Errorf("delete tier %s: %w", name, err)
	}
	return s.record(ctx, st, a, audit.Event{Action: "tier.delete", Target: "tiers/" + name, Summary: "deleted tier " + name})
}

// GetTier returns the named tier.
func (s *Service) GetTier(ctx context.Context, st Store, name string) (Tier, error) {
	t, err := st.GetTier(ctx, name)
	return t, wrap("get tier "+name, err)
}

// ListTiers returns a page of tiers by name.
func (s *Service) ListTiers(ctx context.Context, st Store, o resource.ListOptions) (resource.Page[Tier], error) {
	return page(o, func(t Tier) string { return t.Name }, func(after string, limit int) ([]Tier, error) {
		return st.ListTiers(ctx, after, limit)
	})
}
