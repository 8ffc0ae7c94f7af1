package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
)

// # Single sign-on
//
// A directory login asks the directory over the network outside any
// transaction, then provisions the user and brings its role bindings in
// step with the GroupBindings in one transaction (sso.Service.SignIn).
// The caller then opens the session or issues the token as for a local
// user. Local users (the break-glass admin among them) keep logging in
// with their passwords whatever the directories do.

// DirectoryLogin authenticates username and password with the directory
// named dir, or with each configured directory in order when dir is empty,
// and signs the person in (SignIn). It returns resource.ErrUnauthenticated
// when no directory accepts the credentials, an error wrapping
// sso.ErrUnavailable when none accepted and one could not be asked, and a
// field error at "directory" for a directory that is not configured.
func (p *Platform) DirectoryLogin(ctx context.Context, a audit.Actor, dir, username, password string) (identity.User, error) {
	dirs, err := p.directories(dir)
	if err != nil {
		return identity.User{}, err
	}
	if password == "" || identity.CheckCredentials(username, password) != nil {
		return identity.User{}, resource.ErrUnauthenticated // an empty password is an anonymous bind: never sent
	}
	var unavailable error
	for _, d := range dirs {
		id, err := d.Authenticate(ctx, username, password)
		switch {
		case errors.Is(err, resource.ErrUnauthenticated):
			continue
		case errors.Is(err, sso.ErrUnavailable):
			unavailable = errors.Join(unavailable, err)
			continue
		case err != nil:
			return identity.User{}, fmt.Errorf("directory %s: %w", d.Name(), err)
		}
		return p.SignIn(ctx, a, id)
	}
	if unavailable != nil {
		return identity.User{}, unavailable
	}
	return identity.User{}, resource.ErrUnauthenticated
}

func (p *Platform) directories(name string) ([]sso.PasswordDirectory, error) {
	if name == "" {
		return p.Directories, nil
	}
	i := slices.IndexFunc(p.Directories, func(d sso.PasswordDirectory) bool { return d.Name() == name })
	if i < 0 {
		var errs resource.Errors
		errs.Add("directory", "no directory is named %q", name)
		return nil, errs.Err()
	}
	return p.Directories[i : i+1], nil
}

// SignIn provisions the person id vouches for and syncs its role bindings
// from the GroupBindings, in one transaction (a failure is audited). A
// person the provider reports disabled is disabled in Berth too, and the
// sign-in is resource.ErrUnauthenticated.
func (p *Platform) SignIn(ctx context.Context, a audit.Actor, id sso.Identity) (identity.User, error) {
	var u identity.User
	ev := audit.Event{Action: "user.sign-in", Target: "users/" + id.Username, Summary: "sign-in through " + id.Provider}
	err := p.Do(ctx, a, ev, func(tx Tx) (err error) {
		u, err = p.SSO.SignIn(ctx, tx, a, id)
		return err
	})
	if err != nil {
		return identity.User{}, err
	}
	if u.Disabled {
		return identity.User{}, fmt.Errorf("%s reports %s disabled: %w", id.Provider, u.Name, resource.ErrUnauthenticated)
	}
	return u, nil
}

// RefreshDirectoryUsers reads every user a directory provisioned again
// with the directory's service account and syncs its role bindings, so
// that leaving a group, or being disabled or removed in the directory,
// takes effect without waiting for the next login. A user whose entry is
// gone is disabled. It returns how many users it refreshed; a directory
// that cannot be asked is skipped (its users keep what they have).
func (p *Platform) RefreshDirectoryUsers(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		var links []sso.Link
		err := p.DB.View(ctx, func(tx Tx) (err error) {
			links, err = tx.ListLinks(ctx, after, 200)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("list sso links: %w", err)
		}
		for _, l := range links {
			ok, err := p.refreshOne(ctx, l)
			if err != nil {
				return n, err
			}
			if ok {
				n++
			}
		}
		if len(links) < 200 {
			return n, nil
		}
		after = links[len(links)-1].User
	}
}

func (p *Platform) refreshOne(ctx context.Context, l sso.Link) (bool, error) {
	i := slices.IndexFunc(p.Directories, func(d sso.PasswordDirectory) bool { return d.Name() == l.Provider })
	if i < 0 {
		return false, nil // an OIDC user, or a directory no longer configured
	}
	id, err := p.Directories[i].Lookup(ctx, l.User)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		id = sso.Identity{Provider: l.Provider, Subject: l.Subject, Username: l.User, Disabled: true}
	case errors.Is(err, sso.ErrUnavailable):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("refresh %s from %s: %w", l.User, l.Provider, err)
	}
	a := audit.System
	ev := audit.Event{Action: "user.refresh", Target: "users/" + l.User, Summary: "refresh from " + l.Provider}
	err = p.Do(ctx, a, ev, func(tx Tx) error {
		if _, err := tx.GetUser(ctx, l.User); err != nil {
			return nil // deleted since
		}
		_, err := p.SSO.SignIn(ctx, tx, a, id)
		return err
	})
	if errors.Is(err, resource.ErrUnauthenticated) {
		return false, nil // the entry now names another person: it is not this user's any more
	}
	return err == nil, err
}

// CreateGroupBinding creates a GroupBinding: platform admins only, as it
// can grant any role anywhere.
func (p *Platform) CreateGroupBinding(ctx context.Context, tx Tx, c Caller, b sso.GroupBinding) (sso.GroupBinding, error) {
	if err := c.may(authz.GroupBindingManage, authz.Platform); err != nil {
		return sso.GroupBinding{}, err
	}
	return p.SSO.CreateGroupBinding(ctx, tx, c.Actor, b)
}

// UpdateGroupBinding replaces a GroupBinding.
func (p *Platform) UpdateGroupBinding(ctx context.Context, tx Tx, c Caller, b sso.GroupBinding) (sso.GroupBinding, error) {
	if err := c.may(authz.GroupBindingManage, authz.Platform); err != nil {
		return sso.GroupBinding{}, err
	}
	return p.SSO.UpdateGroupBinding(ctx, tx, c.Actor, b)
}

// DeleteGroupBinding deletes a GroupBinding.
func (p *Platform) DeleteGroupBinding(ctx context.Context, tx Tx, c Caller, name string, rv int64) error {
	if err := c.may(authz.GroupBindingManage, authz.Platform); err != nil {
		return err
	}
	return p.SSO.DeleteGroupBinding(ctx, tx, c.Actor, name, rv)
}

// GroupBinding reads a GroupBinding.
func (p *Platform) GroupBinding(ctx context.Context, tx Tx, c Caller, name string) (sso.GroupBinding, error) {
	if err := c.may(authz.GroupBindingRead, authz.Platform); err != nil {
		return sso.GroupBinding{}, err
	}
	return p.SSO.GetGroupBinding(ctx, tx, name)
}

// GroupBindings lists the GroupBindings.
func (p *Platform) GroupBindings(ctx context.Context, tx Tx, c Caller, o resource.ListOptions) (resource.Page[sso.GroupBinding], error) {
	if err := c.may(authz.GroupBindingRead, authz.Platform); err != nil {
		return resource.Page[sso.GroupBinding]{}, err
	}
	return p.SSO.ListGroupBindings(ctx, tx, o)
}

// BeginSignIn stores an OIDC sign-in with provider in progress and
// returns its state (sso.Service.Begin): for the console when loopback and
// challenge are empty, for the CLI otherwise.
func (p *Platform) BeginSignIn(ctx context.Context, provider, loopback, challenge string) (state string, pend sso.Pending, err error) {
	err = p.DB.InTx(ctx, func(tx Tx) (err error) {
		state, pend, err = p.SSO.Begin(ctx, tx, provider, loopback, challenge)
		return err
	})
	return state, pend, err
}

// ResumeSignIn takes the sign-in the browser comes back with
// (sso.Service.Resume).
func (p *Platform) ResumeSignIn(ctx context.Context, provider, state, cookie string) (pend sso.Pending, err error) {
	err = p.DB.InTx(ctx, func(tx Tx) (err error) {
		pend, err = p.SSO.Resume(ctx, tx, provider, state, cookie)
		return err
	})
	return pend, err
}

// GrantCLI leaves the CLI sign-in pend, finished in the browser by u, for
// the CLI to redeem, audited; it returns the one-time code.
func (p *Platform) GrantCLI(ctx context.Context, a audit.Actor, pend sso.Pending, u identity.User) (code string, err error) {
	ev := audit.Event{Action: "user.sign-in", Target: "users/" + u.Name, Summary: "sign-in through " + pend.Provider + " for the CLI: code sent to its loopback address"}
	err = p.Do(ctx, a, ev, func(tx Tx) (err error) {
		if _, err := audit.Append(ctx, tx, p.Clock.Now(), a, ev); err != nil {
			return err
		}
		code, err = p.SSO.Grant(ctx, tx, pend, u.Name)
		return err
	})
	return code, err
}

// RedeemCLI takes the CLI sign-in of code and, when verifier is the
// CLI's, calls issue with its user (still enabled) in the same
// transaction, so the code is spent only if the token is issued. A wrong
// verifier spends the code.
func (p *Platform) RedeemCLI(ctx context.Context, code, verifier string, issue func(Tx, identity.User) error) error {
	var refused error
	err := p.DB.InTx(ctx, func(tx Tx) error {
		pend, err := p.SSO.TakeGrant(ctx, tx, code)
		if err != nil {
			return err
		}
		if refused = pend.Verify(verifier); refused != nil {
			return nil // commit: the code is spent
		}
		u, err := p.Identity.GetUser(ctx, tx, pend.User)
		if errors.Is(err, resource.ErrNotFound) || (err == nil && u.Disabled) {
			return fmt.Errorf("user %s is gone or disabled: %w", pend.User, resource.ErrUnauthenticated)
		}
		if err != nil {
			return err
		}
		return issue(tx, u)
	})
	if err != nil {
		return err
	}
	return refused
}
