package sso

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// MaxBindings bounds the GroupBindings of one provider: each is evaluated
// at every sign-in.
const MaxBindings = 1000

// MaxGroupLen bounds a binding's group (an LDAP DN may be long).
const MaxGroupLen = 1024

func (s *Service) validateBinding(b GroupBinding) error {
	var errs resource.Errors
	errs.CheckName("name", b.Name)
	switch {
	case b.Provider == "":
		errs.Add("provider", "must not be empty")
	case !s.known(b.Provider):
		errs.Add("provider", "no directory or OIDC provider is named %q; want one of %v", b.Provider, s.Names())
	}
	if b.Group == "" {
		errs.Add("group", "must not be empty")
	}
	errs.CheckLen("group", b.Group, MaxGroupLen)
	// The role and scope are checked as tenancy checks a member.
	if err := tenancy.ValidateMember(tenancy.Member{Scope: b.Scope, Role: b.Role, User: "x"}); err != nil {
		if ve, ok := err.(*resource.ValidationError); ok {
			for _, f := range ve.Fields {
				errs.Add(f.Path, "%s", f.Reason)
			}
		}
	}
	return errs.Err()
}

func bindingPath(name string) string { return "group-bindings/" + name }

func (b GroupBinding) describe() string {
	return fmt.Sprintf("members of %s group %q get %s at %s", b.Provider, b.Group, b.Role, b.Scope)
}

// CreateGroupBinding creates b. Its scope must exist. It takes effect at
// each member's next sign-in or refresh.
func (s *Service) CreateGroupBinding(ctx context.Context, st Store, a audit.Actor, b GroupBinding) (GroupBinding, error) {
	if err := s.validateBinding(b); err != nil {
		return GroupBinding{}, err
	}
	if err := s.checkRoom(ctx, st, b.Provider); err != nil {
		return GroupBinding{}, err
	}
	if err := checkScope(ctx, st, b.Scope); err != nil {
		return GroupBinding{}, fmt.Errorf("group binding %s: %w", b.Name, err)
	}
	now := s.now()
	b.ResourceVersion, b.CreatedBy, b.CreatedAt, b.UpdatedAt = 1, a.User, now, now
	if err := st.CreateGroupBinding(ctx, b); err != nil {
		return GroupBinding{}, fmt.Errorf("create group binding %s: %w", b.Name, err)
	}
	return b, s.record(ctx, st, a, audit.Event{Tenant: b.Scope.Tenant, Project: b.Scope.Project, Action: "group-binding.create",
		Target: bindingPath(b.Name), Summary: "created group binding " + b.Name + ": " + b.describe()})
}

func (s *Service) checkRoom(ctx context.Context, st Store, provider string) error {
	bs, err := st.GroupBindingsOf(ctx, provider)
	if err != nil {
		return fmt.Errorf("group bindings of %s: %w", provider, err)
	}
	if len(bs) >= MaxBindings {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "provider",
			Reason: fmt.Sprintf("%s has %d group bindings already, the most allowed", provider, MaxBindings)}}}
	}
	return nil
}

// UpdateGroupBinding replaces the binding named b.Name; b.ResourceVersion
// must be the version read.
func (s *Service) UpdateGroupBinding(ctx context.Context, st Store, a audit.Actor, b GroupBinding) (GroupBinding, error) {
	if err := s.validateBinding(b); err != nil {
		return GroupBinding{}, err
	}
	if b.ResourceVersion <= 0 {
		return GroupBinding{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "resourceVersion",
			Reason: fmt.Sprintf("must be the resourceVersion that was read (a positive number), got %d", b.ResourceVersion)}}}
	}
	old, err := st.GetGroupBinding(ctx, b.Name)
	if err != nil {
		return GroupBinding{}, fmt.Errorf("update group binding %s: %w", b.Name, err)
	}
	if err := checkScope(ctx, st, b.Scope); err != nil {
		return GroupBinding{}, fmt.Errorf("group binding %s: %w", b.Name, err)
	}
	prev := b.ResourceVersion
	b.CreatedBy, b.CreatedAt, b.UpdatedAt, b.ResourceVersion = old.CreatedBy, old.CreatedAt, s.now(), old.ResourceVersion+1
	if err := st.UpdateGroupBinding(ctx, b, prev); err != nil {
		return GroupBinding{}, fmt.Errorf("update group binding %s: %w", b.Name, err)
	}
	return b, s.record(ctx, st, a, audit.Event{Tenant: b.Scope.Tenant, Project: b.Scope.Project, Action: "group-binding.update",
		Target: bindingPath(b.Name), Summary: "changed group binding " + b.Name + " from: " + old.describe() + "; to: " + b.describe()})
}

// DeleteGroupBinding deletes a binding (rv 0 skips the version check). The
// role bindings it granted are revoked at each member's next sign-in or
// refresh.
func (s *Service) DeleteGroupBinding(ctx context.Context, st Store, a audit.Actor, name string, rv int64) error {
	old, err := st.GetGroupBinding(ctx, name)
	if err != nil {
		return fmt.Errorf("delete group binding %s: %w", name, err)
	}
	if err := st.DeleteGroupBinding(ctx, name, rv); err != nil {
		return fmt.Errorf("delete group binding %s: %w", name, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: old.Scope.Tenant, Project: old.Scope.Project, Action: "group-binding.delete",
		Target: bindingPath(name), Summary: "deleted group binding " + name + ": " + old.describe()})
}

// GetGroupBinding returns the named binding.
func (s *Service) GetGroupBinding(ctx context.Context, st Store, name string) (GroupBinding, error) {
	b, err := st.GetGroupBinding(ctx, name)
	if err != nil {
		return GroupBinding{}, fmt.Errorf("group binding %s: %w", name, err)
	}
	return b, nil
}

// ListGroupBindings returns a page of bindings by name.
func (s *Service) ListGroupBindings(ctx context.Context, st Store, o resource.ListOptions) (resource.Page[GroupBinding], error) {
	after, err := o.After()
	if err != nil {
		return resource.Page[GroupBinding]{}, err
	}
	limit := o.PageLimit()
	bs, err := st.ListGroupBindings(ctx, after, limit+1)
	if err != nil {
		return resource.Page[GroupBinding]{}, fmt.Errorf("list group bindings: %w", err)
	}
	return resource.NewPage(bs, limit, func(b GroupBinding) string { return b.Name }), nil
}

func checkScope(ctx context.Context, st Store, sc tenancy.Scope) error {
	switch sc.Kind() {
	case "tenant":
		if _, err := st.GetTenant(ctx, sc.Tenant); err != nil {
			return fmt.Errorf("tenant %s: %w", sc.Tenant, err)
		}
	case "project":
		if _, err := st.GetProject(ctx, sc.Tenant, sc.Project); err != nil {
			return fmt.Errorf("project %s/%s: %w", sc.Tenant, sc.Project, err)
		}
	}
	return nil
}
