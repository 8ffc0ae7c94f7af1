package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

func (a *API) registerIdentity() {
	a.route(Route{Method: "GET", Path: "/users", Summary: "List users", Query: pageQuery, Response: "List[User]"}, a.listUsers)
	a.route(Route{Method: "POST", Path: "/users", Summary: "Create a local user", Request: "UserRequest", Response: "User"}, a.createUser)
	a.route(Route{Method: "GET", Path: "/users/{user}", Summary: "Get a user", Response: "User"}, a.getUser)
	a.route(Route{Method: "PUT", Path: "/users/{user}", Summary: "Update a user's display name, email or disabled flag (resourceVersion required)",
		Request: "User", Response: "User"}, a.updateUser)
	a.route(Route{Method: "PUT", Path: "/users/{user}/password", Summary: "Set a user's password: one's own (with the current one), or anyone's for a platform admin; revokes the user's other tokens and sessions",
		Request: "PasswordRequest", Response: "none"}, a.setPassword)
	a.route(Route{Method: "DELETE", Path: "/users/{user}", Summary: "Delete a user, its tokens, sessions and role bindings", Query: rvQuery, Response: "none"}, a.deleteUser)

	a.route(Route{Method: "GET", Path: "/tokens", Summary: "List the caller's API tokens", Query: pageQuery, Response: "List[Token]"}, a.listTokens)
	a.route(Route{Method: "POST", Path: "/tokens", Summary: "Create an API token for the caller (a gateway token with role gateway: platform admins only)",
		Request: "TokenRequest", Response: "TokenCreated"}, a.createToken)
	a.route(Route{Method: "DELETE", Path: "/tokens/{id}", Summary: "Revoke one of the caller's API tokens", Response: "none"}, a.revokeToken)
	a.route(Route{Method: "GET", Path: "/users/{user}/tokens", Summary: "List a user's API tokens: one's own, or anyone's for a platform admin or auditor",
		Query: pageQuery, Response: "List[Token]"}, a.listTokens)
	a.route(Route{Method: "POST", Path: "/users/{user}/tokens", Summary: "Create an API token for a user: oneself, or anyone for a platform admin (e.g. a gateway token for a robot user)",
		Request: "TokenRequest", Response: "TokenCreated"}, a.createToken)
	a.route(Route{Method: "DELETE", Path: "/users/{user}/tokens/{id}", Summary: "Revoke a user's API token: one's own, or anyone's for a platform admin",
		Response: "none"}, a.revokeToken)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.UserRead, authz.Platform); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[identity.User]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Identity.ListUsers(r.Context(), tx, o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.UserCreate, authz.Platform); err != nil {
		return err
	}
	var req apitypes.UserRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var u identity.User
	err := a.do(r, "user.create", "users/"+req.Name, authz.Platform, func(tx platform.Tx) error {
		var err error
		u, err = a.p.Identity.CreateUser(r.Context(), tx, a.actor(r), req.User, req.Password)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("user")
	decide(r) // one's own account, else:
	if p := principalOf(r); p.user.Name != name {
		if err := a.authorize(r, authz.UserRead, authz.Platform); err != nil {
			return err
		}
	}
	var u identity.User
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		u, err = a.p.Identity.GetUser(r.Context(), tx, name)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.UserUpdate, authz.Platform); err != nil {
		return err
	}
	var u identity.User
	if err := decode(r, &u); err != nil {
		return err
	}
	u.Name = r.PathValue("user")
	err := a.do(r, "user.update", "users/"+u.Name, authz.Platform, func(tx platform.Tx) error {
		var err error
		u, err = a.p.Identity.UpdateUser(r.Context(), tx, a.actor(r), u)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

// setPassword changes one's own password, which needs the current one and
// counts a wrong one like a failed login, or is a platform admin's reset
// of another user's. Either way the user's other sessions and tokens end;
// the caller's own credential survives a change of its own password.
func (a *API) setPassword(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("user")
	decide(r) // one's own password, else:
	p := principalOf(r)
	self := p.user.Name == name
	if !self {
		if err := a.authorize(r, authz.UserUpdate, authz.Platform); err != nil {
			return err
		}
	}
	var req apitypes.PasswordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if !self {
		err := a.do(r, "user.set-password", "users/"+name, authz.Platform, func(tx platform.Tx) error {
			return a.p.Identity.SetPassword(r.Context(), tx, a.actor(r), name, req.Password)
		})
		if err != nil {
			return busy(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	attempt, wait := a.limiter.Begin(name, a.sourceIP(r))
	if wait > 0 {
		return &httpError{status: http.StatusTooManyRequests, code: i18n.TooManyRequests, retryAfter: wait}
	}
	keep := identity.Keep{TokenID: p.tokenID}
	if p.cookie {
		keep.SessionSecret = p.session
	}
	err := a.do(r, "user.set-password", "users/"+name, authz.Platform, func(tx platform.Tx) error {
		return a.p.Identity.ChangePassword(r.Context(), tx, a.actor(r), name, req.CurrentPassword, req.Password, keep)
	})
	switch {
	case errors.Is(err, identity.ErrWrongCurrentPassword):
		return err // counted
	case err != nil:
		attempt.Abandon()
		return busy(err)
	}
	attempt.Succeeded()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.UserDelete, authz.Platform); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	name := r.PathValue("user")
	ctx := r.Context()
	err = a.do(r, "user.delete", "users/"+name, authz.Platform, func(tx platform.Tx) error {
		ms, err := a.p.Tenancy.MembershipsOf(ctx, tx, name)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := a.p.Tenancy.RemoveMember(ctx, tx, a.actor(r), m.Scope, m.User, m.Role, 0); err != nil {
				return err
			}
		}
		return a.p.Identity.DeleteUser(ctx, tx, a.actor(r), name, v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokenOwner returns the user whose tokens the request names: the path's
// {user}, or the caller on /tokens. Acting on another user's tokens needs
// perm at the platform; one's own need nothing more.
func (a *API) tokenOwner(r *http.Request, perm authz.Permission) (string, error) {
	decide(r) // the caller's own tokens, else:
	me := principalOf(r).user.Name
	user := r.PathValue("user")
	if user == "" || user == me {
		return me, nil
	}
	return user, a.authorize(r, perm, authz.Platform)
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	user, err := a.tokenOwner(r, authz.UserRead)
	if err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[identity.Token]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Identity.ListTokens(r.Context(), tx, user, o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

// createToken issues a token for the caller or, for a platform admin, for
// another user. A token created with a token expires no later than it;
// one carrying a role is for platform admins to issue only.
func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	user, err := a.tokenOwner(r, authz.UserUpdate)
	if err != nil {
		return err
	}
	var req apitypes.TokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p := principalOf(r)
	if slices.Contains(authz.TokenRoles(), req.Role) && !authz.CanIssue(p.bindings, req.Role) {
		a.auditDenied(r, authz.MemberCreate, authz.Platform)
		return fmt.Errorf("issue a %s token: %w", req.Role, errForbidden)
	}
	spec := identity.TokenSpec{Name: req.Name, Role: req.Role, NotAfter: p.tokenExpires}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < 0 {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "ttl", Reason: "must be a duration such as 720h"}}}
		}
		spec.TTL = d
	}
	var out apitypes.TokenCreated
	err = a.do(r, "token.create", "users/"+user+"/tokens", authz.Platform, func(tx platform.Tx) error {
		var err error
		out.Token, out.Secret, err = a.p.Identity.IssueToken(r.Context(), tx, a.actor(r), user, spec)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	user, err := a.tokenOwner(r, authz.UserUpdate)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	err = a.do(r, "token.revoke", "users/"+user+"/tokens/"+id, authz.Platform, func(tx platform.Tx) error {
		return a.p.Identity.RevokeToken(r.Context(), tx, a.actor(r), user, id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
