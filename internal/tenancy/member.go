package tenancy

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// ValidateMember checks a role binding's user, role and scope (not that
// they exist): field errors at user, role, scope.tenant, scope.project.
func ValidateMember(m Member) error {
	var errs resource.Errors
	if m.Scope.Tenant != "" {
		errs.CheckName("scope.tenant", m.Scope.Tenant)
	}
	if m.Scope.Project != "" {
		errs.CheckName("scope.project", m.Scope.Project)
		if m.Scope.Tenant == "" {
			errs.Add("scope.tenant", "must be set when scope.project is")
		}
	}
	errs.CheckUserName("user", m.User)
	switch {
	case !m.Role.Valid():
		errs.Add("role", "unknown role %q; want one of platform-admin, tenant-admin, project-admin, developer, release-manager, operator, auditor, viewer", m.Role)
	case m.Role == PlatformAdmin && m.Scope.Kind() != "platform":
		errs.Add("role", "platform-admin is granted at platform scope only")
	case m.Role == TenantAdmin && m.Scope.Kind() != "tenant":
		errs.Add("role", "tenant-admin is granted at tenant scope only")
	case m.Role == ProjectAdmin && m.Scope.Kind() != "project":
		errs.Add("role", "project-admin is granted at project scope only")
	}
	return errs.Err()
}

// AddMember grants m.Role to m.User at m.Scope, which must exist. The user
// is not checked here: identity is another package; the API checks it
// (userMustExist).
func (s *Service) AddMember(ctx context.Context, st Store, a audit.Actor, m Member) (Member, error) {
	if err := ValidateMember(m); err != nil {
		return Member{}, err
	}
	what := fmt.Sprintf("grant %s to %s at %s", m.Role, m.User, m.Scope)
	if err := checkScope(ctx, st, m.Scope); err != nil {
		return Member{}, fmt.Errorf("%s: %w", what, err)
	}
	m.ResourceVersion, m.CreatedBy, m.CreatedAt = 1, a.User, s.now()
	if err := st.CreateMember(ctx, m); err != nil {
		return Member{}, fmt.Errorf("%s: %w", what, err)
	}
	return m, s.record(ctx, st, a, audit.Event{Tenant: m.Scope.Tenant, Project: m.Scope.Project, Action: "member.add",
		Target: scopePath(m.Scope) + "/members/" + m.Key(), Summary: fmt.Sprintf("granted %s to %s at %s", m.Role, m.User, m.Scope)})
}

// RemoveMember revokes a role binding. rv 0 skips the version check.
func (s *Service) RemoveMember(ctx context.Context, st Store, a audit.Actor, sc Scope, user string, role Role, rv int64) error {
	m := Member{Scope: sc, User: user, Role: role}
	if err := st.DeleteMember(ctx, sc, m.Key(), rv); err != nil {
		return fmt.Errorf("revoke %s from %s at %s: %w", role, user, sc, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: sc.Tenant, Project: sc.Project, Action: "member.remove",
		Target: scopePath(sc) + "/members/" + m.Key(), Summary: fmt.Sprintf("revoked %s from %s at %s", role, user, sc)})
}

// ListMembers returns a page of the bindings at exactly scope sc, by
// "user:role".
func (s *Service) ListMembers(ctx context.Context, st Store, sc Scope, o resource.ListOptions) (resource.Page[Member], error) {
	return page(o, Member.Key, func(after string, limit int) ([]Member, error) {
		return st.ListMembers(ctx, sc, after, limit)
	})
}

// MembershipsOf returns every role binding of user, at every scope: what
// authorization decides on.
func (s *Service) MembershipsOf(ctx context.Context, st Store, user string) ([]Member, error) {
	ms, err := st.MembershipsOf(ctx, user)
	return ms, wrap("memberships of "+user, err)
}

func checkScope(ctx context.Context, st Store, sc Scope) error {
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
