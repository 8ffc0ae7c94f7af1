package api

import (
	"net/http"
	"time"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// UserRequest creates a user.
type UserRequest struct {
	identity.User
	// Password is the initial password (at least 12 characters); empty
	// for users of another identity provider.
	Password string `json:"password,omitempty"`
}

// PasswordRequest sets a password.
type PasswordRequest struct {
	Password string `json:"password"`
}

// TokenCreated is a new API token with its secret, shown only once.
type TokenCreated struct {
	identity.Token
	Secret string `json:"secret"`
}

func (a *API) registerIdentity() {
	a.route(Route{Method: "GET", Path: "/users", Summary: "List users", Query: pageQuery, Response: "List[User]"}, a.listUsers)
	a.route(Route{Method: "POST", Path: "/users", Summary: "Create a local user", Request: "UserRequest", Response: "User"}, a.createUser)
	a.route(Route{Method: "GET", Path: "/users/{user}", Summary: "Get a user", Response: "User"}, a.getUser)
	a.route(Route{Method: "PUT", Path: "/users/{user}", Summary: "Update a user's display name, email or disabled flag (resourceVersion required)",
		Request: "User", Response: "User"}, a.updateUser)
	a.route(Route{Method: "PUT", Path: "/users/{user}/password", Summary: "Set a user's password: one's own, or anyone's for a platform admin",
		Request: "PasswordRequest", Response: "none"}, a.setPassword)
	a.route(Route{Method: "DELETE", Path: "/users/{user}", Summary: "Delete a user, its tokens, sessions and role bindings", Query: rvQuery, Response: "none"}, a.deleteUser)

	a.route(Route{Method: "GET", Path: "/tokens", Summary: "List the caller's API tokens", Query: pageQuery, Response: "List[Token]"}, a.listTokens)
	a.route(Route{Method: "POST", Path: "/tokens", Summary: "Create an API token for the caller", Request: "TokenRequest", Response: "TokenCreated"}, a.createToken)
	a.route(Route{Method: "DELETE", Path: "/tokens/{id}", Summary: "Revoke one of the caller's API tokens", Response: "none"}, a.revokeToken)
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
	var req UserRequest
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

func (a *API) setPassword(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("user")
	decide(r) // one's own password, else:
	if principalOf(r).user.Name != name {
		if err := a.authorize(r, authz.UserUpdate, authz.Platform); err != nil {
			return err
		}
	}
	var req PasswordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	err := a.do(r, "user.set-password", "users/"+name, authz.Platform, func(tx platform.Tx) error {
		return a.p.Identity.SetPassword(r.Context(), tx, a.actor(r), name, req.Password)
	})
	if err != nil {
		return err
	}
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

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	decide(r) // the caller's own tokens
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[identity.Token]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Identity.ListTokens(r.Context(), tx, principalOf(r).user.Name, o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	decide(r) // the caller's own tokens
	var req TokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d < 0 {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "ttl", Reason: "must be a duration such as 720h"}}}
		}
		ttl = d
	}
	user := principalOf(r).user.Name
	var out TokenCreated
	err := a.do(r, "token.create", "users/"+user+"/tokens", authz.Platform, func(tx platform.Tx) error {
		var err error
		out.Token, out.Secret, err = a.p.Identity.CreateToken(r.Context(), tx, a.actor(r), user, req.Name, ttl)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	decide(r) // the caller's own tokens
	user, id := principalOf(r).user.Name, r.PathValue("id")
	err := a.do(r, "token.revoke", "users/"+user+"/tokens/"+id, authz.Platform, func(tx platform.Tx) error {
		return a.p.Identity.RevokeToken(r.Context(), tx, a.actor(r), user, id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
