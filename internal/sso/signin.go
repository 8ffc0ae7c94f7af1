package sso

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// MaxGroups bounds the groups of one person that are kept and matched.
const MaxGroups = 10000

// UserName is the Berth user name of a person: the provider's user name in
// lower case. It must be a valid Berth user name.
func UserName(id Identity) (string, error) {
	name := strings.ToLower(strings.TrimSpace(id.Username))
	var errs resource.Errors
	errs.CheckUserName("username", name)
	return name, errs.Err()
}

// SignIn provisions or updates the user id vouches for and brings its
// role bindings in step with the GroupBindings of id.Provider. It returns
// the user; a user the provider reports disabled comes back disabled (the
// caller refuses the sign-in after committing that). A local user, or one
// linked to another provider or subject, is resource.ErrUnauthenticated:
// signing on never takes over an account.
func (s *Service) SignIn(ctx context.Context, st Store, a audit.Actor, id Identity) (identity.User, error) {
	name, err := UserName(id)
	if err != nil {
		return identity.User{}, err
	}
	if len(id.Groups) > MaxGroups {
		return identity.User{}, fmt.Errorf("%s reports %d groups for %s, more than %d: %w", id.Provider, len(id.Groups), name, MaxGroups, resource.ErrUnauthenticated)
	}
	link, err := s.ownLink(ctx, st, a, name, id)
	if err != nil {
		return identity.User{}, err
	}
	u, err := s.provision(ctx, st, a, name, id, &link)
	switch {
	case err != nil:
		return identity.User{}, err
	case !u.Disabled:
		return u, s.sync(ctx, st, a, id, link)
	case u.ResourceVersion == 0: // disabled before it was ever provisioned
		return u, nil
	}
	return u, st.PutLink(ctx, link, link.ResourceVersion-1)
}

// ownLink returns the link of user name to id: a new one when the user
// does not exist, or exists without a password and without a link (an
// administrator created it for a provider: it is adopted, audited), or
// ErrUnauthenticated when the user belongs to someone else: a local user
// with a password, or another provider's or person's.
func (s *Service) ownLink(ctx context.Context, st Store, a audit.Actor, name string, id Identity) (Link, error) {
	rec, uerr := st.GetUser(ctx, name)
	if uerr != nil && !errors.Is(uerr, resource.ErrNotFound) {
		return Link{}, fmt.Errorf("get user %s: %w", name, uerr)
	}
	link, lerr := st.GetLink(ctx, name)
	if lerr != nil && !errors.Is(lerr, resource.ErrNotFound) {
		return Link{}, fmt.Errorf("sso link of %s: %w", name, lerr)
	}
	fresh := Link{User: name, Provider: id.Provider, Subject: id.Subject}
	switch {
	case uerr != nil && lerr != nil: // a new person
		return fresh, nil
	case uerr != nil: // the user was deleted: its old link and grants mean nothing
		fresh.ResourceVersion = link.ResourceVersion
		return fresh, nil
	case lerr != nil && rec.PasswordHash != "":
		return Link{}, fmt.Errorf("user %s is a local user, not one of %s: %w", name, id.Provider, resource.ErrUnauthenticated)
	case lerr != nil:
		return fresh, s.record(ctx, st, a, audit.Event{Action: "user.link", Target: "users/" + name,
			Summary: fmt.Sprintf("linked %s, created without a password, to %s %q at its first sign-in", name, id.Provider, id.Subject)})
	case link.Provider != id.Provider || !strings.EqualFold(link.Subject, id.Subject):
		return Link{}, fmt.Errorf("user %s belongs to %s %q, not to %s %q: %w", name, link.Provider, link.Subject, id.Provider, id.Subject, resource.ErrUnauthenticated)
	}
	return link, nil
}

// provision creates the user on first sign-in, or updates its display
// name, email and disabled flag from id. link.ResourceVersion becomes the
// version to write (its previous one plus one).
func (s *Service) provision(ctx context.Context, st Store, a audit.Actor, name string, id Identity, link *Link) (identity.User, error) {
	link.SyncedAt = s.now()
	link.ResourceVersion++
	rec, err := st.GetUser(ctx, name)
	if errors.Is(err, resource.ErrNotFound) {
		return s.create(ctx, st, a, name, id)
	}
	if err != nil {
		return identity.User{}, fmt.Errorf("get user %s: %w", name, err)
	}
	u := rec.User
	want := u
	want.DisplayName, want.Email = clip(id.DisplayName, 200), clip(id.Email, 253)
	switch {
	case id.Disabled && !u.Disabled:
		want.Disabled, link.DisabledByProvider = true, true
	case !id.Disabled && u.Disabled && link.DisabledByProvider: // enabled again in the directory
		want.Disabled, link.DisabledByProvider = false, false
	}
	if want == u {
		return u, nil
	}
	return s.identity.UpdateUser(ctx, st, a, want)
}

func (s *Service) create(ctx context.Context, st Store, a audit.Actor, name string, id Identity) (identity.User, error) {
	if id.Disabled {
		return identity.User{Name: name, Disabled: true}, nil // nothing to provision
	}
	u, err := s.identity.CreateUser(ctx, st, a, identity.User{Name: name, DisplayName: clip(id.DisplayName, 200), Email: clip(id.Email, 253)}, "")
	if err != nil {
		return identity.User{}, err
	}
	return u, s.record(ctx, st, a, audit.Event{Action: "user.provision", Target: "users/" + name,
		Summary: fmt.Sprintf("provisioned %s on first sign-in through %s as %q", name, id.Provider, id.Subject)})
}

func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// Wanted returns the role bindings the GroupBindings bs grant to a member
// of groups, one per role and scope (the first binding's name), in the
// order of bs. LDAP groups (DNs) compare without regard to case.
func Wanted(kind string, bs []GroupBinding, groups []string) []Grant {
	in := map[string]bool{}
	for _, g := range groups {
		in[groupKey(kind, g)] = true
	}
	var out []Grant
	for _, b := range bs {
		if !in[groupKey(kind, b.Group)] {
			continue
		}
		g := Grant{Role: b.Role, Scope: b.Scope, Binding: b.Name}
		if !slices.ContainsFunc(out, g.same) {
			out = append(out, g)
		}
	}
	return out
}

func groupKey(kind, g string) string {
	if kind == KindLDAP {
		return strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(g, ", ", ",")), " "))
	}
	return g
}

func (g Grant) same(o Grant) bool { return g.Role == o.Role && g.Scope == o.Scope }

// sync grants what the bindings want and the link does not hold yet, and
// revokes what the link holds and they no longer want; then writes link.
func (s *Service) sync(ctx context.Context, st Store, a audit.Actor, id Identity, link Link) error {
	bs, err := st.GroupBindingsOf(ctx, id.Provider)
	if err != nil {
		return fmt.Errorf("group bindings of %s: %w", id.Provider, err)
	}
	want := Wanted(s.Kind(id.Provider), bs, id.Groups)
	sa := audit.Actor{User: audit.System.User, Roles: []string{"group-bindings@" + id.Provider}, SourceIP: a.SourceIP, RequestID: a.RequestID}
	var kept []Grant
	var revoked, granted []string
	for _, g := range link.Grants {
		if slices.ContainsFunc(want, g.same) {
			kept = append(kept, g)
			continue
		}
		err := s.tenancy.RemoveMember(ctx, st, sa, g.Scope, link.User, g.Role, 0)
		if err != nil && !errors.Is(err, resource.ErrNotFound) {
			return err
		}
		revoked = append(revoked, fmt.Sprintf("%s at %s", g.Role, g.Scope))
	}
	for _, g := range want {
		if slices.ContainsFunc(kept, g.same) {
			continue
		}
		ok, err := s.grant(ctx, st, sa, link.User, g)
		if err != nil {
			return err
		}
		if ok {
			kept = append(kept, g)
			granted = append(granted, fmt.Sprintf("%s at %s (binding %s)", g.Role, g.Scope, g.Binding))
		}
	}
	prev := link.ResourceVersion - 1
	link.Groups, link.Grants = clipGroups(id.Groups), kept
	if err := st.PutLink(ctx, link, prev); err != nil {
		return fmt.Errorf("sso link of %s: %w", link.User, err)
	}
	if len(granted)+len(revoked) == 0 {
		return nil
	}
	return s.record(ctx, st, sa, audit.Event{Action: "user.sync-groups", Target: "users/" + link.User,
		Summary: fmt.Sprintf("%s groups of %s (%d): granted %v, revoked %v", id.Provider, link.User, len(id.Groups), granted, revoked)})
}

// grant binds g unless the user already holds that role there (granted
// by hand, which stays the administrator's) or the scope is gone; it says
// whether it granted.
func (s *Service) grant(ctx context.Context, st Store, a audit.Actor, user string, g Grant) (bool, error) {
	m := tenancy.Member{Scope: g.Scope, User: user, Role: g.Role}
	if _, err := st.GetMember(ctx, g.Scope, m.Key()); err == nil {
		return false, nil
	}
	_, err := s.tenancy.AddMember(ctx, st, a, m)
	if errors.Is(err, resource.ErrNotFound) || errors.Is(err, resource.ErrAlreadyExists) {
		return false, nil
	}
	return err == nil, err
}

// clipGroups keeps the groups for the record, at most 200 of them.
func clipGroups(gs []string) []string {
	if len(gs) > 200 {
		gs = gs[:200]
	}
	return slices.Clone(gs)
}
