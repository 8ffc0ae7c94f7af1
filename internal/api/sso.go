package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
)

// SSOStateCookie carries the state of an OIDC sign-in from its start to
// its callback: HttpOnly, SameSite=Lax (the callback is a cross-site
// redirect from the provider), limited to the sign-in routes.
const SSOStateCookie = "berth_sso_state"

func (a *API) registerSSO() {
	a.route(Route{Method: "GET", Path: "/sso/providers", Summary: "The directories and OIDC providers users can sign in with (for the console's login page)",
		Public: true, Response: "SSOProviders"}, a.ssoProviders)
	a.route(Route{Method: "GET", Path: "/sso/{provider}/start", Summary: "Start an OIDC sign-in: redirects the browser to the provider (authorization code flow with PKCE); " +
		"cli (a loopback URL) and challenge (the S256 challenge of the CLI's verifier) start a sign-in for berth login --sso",
		Query: []string{"cli", "challenge"}, Public: true, Response: "none", Status: http.StatusFound}, a.ssoStart)
	a.route(Route{Method: "GET", Path: "/sso/{provider}/callback", Summary: "Finish an OIDC sign-in: sets the console session and CSRF cookies and redirects to /, " +
		"or for a CLI sign-in redirects to the CLI's loopback URL with a one-time code",
		Public: true, Response: "none", Status: http.StatusSeeOther}, a.ssoCallback)
	a.route(Route{Method: "POST", Path: "/sso/token", Summary: "Redeem a CLI sign-in's one-time code with the CLI's PKCE verifier for an API token (berth login --sso)",
		Public: true, Request: "SSOTokenRequest", Response: "LoginResponse", Status: http.StatusOK}, a.ssoToken)

	a.route(Route{Method: "GET", Path: "/group-bindings", Summary: "List the rules mapping directory and OIDC groups to roles", Query: pageQuery,
		Response: "List[GroupBinding]"}, a.listGroupBindings)
	a.route(Route{Method: "POST", Path: "/group-bindings", Summary: "Create a rule granting a role at a scope to the members of a group (platform admins)",
		Request: "GroupBinding", Response: "GroupBinding"}, a.createGroupBinding)
	a.route(Route{Method: "GET", Path: "/group-bindings/{name}", Summary: "Get a group binding", Response: "GroupBinding"}, a.getGroupBinding)
	a.route(Route{Method: "PUT", Path: "/group-bindings/{name}", Summary: "Replace a group binding (resourceVersion required)",
		Request: "GroupBinding", Response: "GroupBinding"}, a.updateGroupBinding)
	a.route(Route{Method: "DELETE", Path: "/group-bindings/{name}", Summary: "Delete a group binding; what it granted is revoked at each member's next sign-in or refresh",
		Query: rvQuery, Response: "none"}, a.deleteGroupBinding)
}

func (a *API) ssoProviders(w http.ResponseWriter, _ *http.Request) error {
	ps := a.p.SSO.Providers()
	if ps == nil {
		ps = []sso.ProviderInfo{}
	}
	return writeJSON(w, http.StatusOK, ps)
}

// redirectProvider returns the OIDC provider named in the path.
func (a *API) redirectProvider(r *http.Request) (sso.RedirectProvider, error) {
	name := r.PathValue("provider")
	for _, p := range a.oidc {
		if p.Name() == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("oidc provider %q: %w", name, resource.ErrNotFound)
}

var errSSOUnavailable = &httpError{status: http.StatusServiceUnavailable, code: i18n.SSOUnavailable}

// ssoStart sends the browser to the provider with a fresh state, nonce
// and PKCE challenge; the state goes into a cookie too, so the callback
// can tell that it comes back to the browser that started.
func (a *API) ssoStart(w http.ResponseWriter, r *http.Request) error {
	prov, err := a.redirectProvider(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	state, pend, err := a.p.BeginSignIn(r.Context(), prov.Name(), q.Get("cli"), q.Get("challenge"))
	if errors.Is(err, sso.ErrTooManyFlows) {
		return &httpError{status: http.StatusServiceUnavailable, code: i18n.Busy, retryAfter: sso.FlowTTL / 10, cause: err}
	}
	if err != nil {
		return err
	}
	to, err := prov.AuthCodeURL(r.Context(), state, pend.Nonce, pend.Verifier)
	if err != nil {
		errSSO := *errSSOUnavailable
		errSSO.cause = err
		return &errSSO
	}
	http.SetCookie(w, &http.Cookie{Name: SSOStateCookie, Value: state, Path: Prefix + "/sso/", MaxAge: int(sso.FlowTTL.Seconds()),
		HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
	redirect(w, to, http.StatusFound)
	return nil
}

// ssoCallback checks the state against the cookie and the pending
// sign-in, redeems the code, checks the ID token, provisions the person
// and opens a console session as a password login does.
func (a *API) ssoCallback(w http.ResponseWriter, r *http.Request) error {
	prov, err := a.redirectProvider(r)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SSOStateCookie, Value: "", Path: Prefix + "/sso/", MaxAge: -1, HttpOnly: true,
		Secure: a.secure(r), SameSite: http.SameSiteLaxMode})
	q := r.URL.Query()
	ip := a.sourceIP(r)
	act := audit.Actor{SourceIP: ip, RequestID: requestID(r)}
	c, _ := r.Cookie(SSOStateCookie)
	var cookie string
	if c != nil {
		cookie = c.Value
	}
	pend, err := a.p.ResumeSignIn(r.Context(), prov.Name(), q.Get("state"), cookie)
	if err != nil && !errors.Is(err, resource.ErrUnauthenticated) {
		return err
	}
	if err != nil || q.Get("error") != "" || q.Get("code") == "" || len(q.Get("code")) > 4096 {
		return a.ssoRefused(r, prov.Name(), "", fmt.Errorf("sign-in through %s: unknown or expired state, or the provider's error %q: %w",
			prov.Name(), clipText(q.Get("error"), 64), resource.ErrUnauthenticated))
	}
	id, err := prov.Exchange(r.Context(), q.Get("code"), pend.Verifier, pend.Nonce)
	if err != nil {
		return a.ssoRefused(r, prov.Name(), "", err)
	}
	act.User = id.Username
	u, err := a.p.SignIn(r.Context(), act, id)
	if err != nil {
		return a.ssoRefused(r, prov.Name(), id.Username, err)
	}
	if pend.Loopback != "" {
		code, err := a.p.GrantCLI(r.Context(), act, pend, u)
		if err != nil {
			return err
		}
		redirect(w, pend.Loopback+"?"+url.Values{"code": {code}}.Encode(), http.StatusSeeOther)
		return nil
	}
	var sess identity.Session
	var secret string
	err = a.p.DB.InTx(r.Context(), func(tx platform.Tx) (err error) {
		sess, secret, err = a.p.Identity.OpenSession(r.Context(), tx, act, u.Name)
		return err
	})
	if err != nil {
		return err
	}
	a.setSessionCookies(w, r, secret, randomToken(), sess.ExpiresAt)
	redirect(w, "/", http.StatusSeeOther)
	return nil
}

// ssoToken redeems a CLI sign-in's code with the CLI's verifier for an
// API token. A wrong verifier spends the code: a second try cannot guess.
func (a *API) ssoToken(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	var req apitypes.SSOTokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var errs resource.Errors
	if req.Code == "" {
		errs.Add("code", "required: the code the browser brought back to the CLI")
	}
	if req.Verifier == "" {
		errs.Add("verifier", "required: the PKCE verifier whose challenge started the sign-in")
	}
	spec := tokenRequestSpec(req.Token, &errs)
	// The provider is asked again only at the next sign-in: a token from it
	// lasts no longer than a console session would, so a person removed
	// from a group loses what it granted as soon in the CLI as in the console.
	spec.NotAfter = a.clock.Now().Add(a.p.Identity.SessionTTL())
	if err := errs.Err(); err != nil {
		return err
	}
	act := audit.Actor{SourceIP: a.sourceIP(r), RequestID: requestID(r)}
	var resp apitypes.LoginResponse
	err := a.p.RedeemCLI(r.Context(), req.Code, req.Verifier, func(tx platform.Tx, u identity.User) (err error) {
		if resp, err = a.issueToken(r.Context(), tx, act, u, req.Token.Name, spec); err != nil {
			return err
		}
		ms, err := a.p.Tenancy.MembershipsOf(r.Context(), tx, u.Name)
		resp.Roles = bindingsOf(ms)
		return err
	})
	if errors.Is(err, resource.ErrUnauthenticated) {
		return a.ssoRefused(r, "the CLI", "", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

// ssoRefused audits a refused sign-in through the refusals of its source
// and answers 401, or 503 when the provider could not be asked.
func (a *API) ssoRefused(r *http.Request, provider, user string, err error) error {
	reason := "sign-in through " + provider + " refused"
	if errors.Is(err, sso.ErrUnavailable) {
		reason = "sign-in through " + provider + ": provider unavailable"
	}
	if rerr := a.limiter.refusals.Refused(r.Context(), identity.Refusal{Source: a.sourceIP(r), User: user, RequestID: requestID(r), Reason: reason}); rerr != nil {
		a.log.Error("audit a refused sign-in", "request_id", requestID(r), "err", rerr)
	}
	if errors.Is(err, sso.ErrUnavailable) {
		return &httpError{status: http.StatusServiceUnavailable, code: i18n.SSOUnavailable, cause: err}
	}
	var ve *resource.ValidationError
	if errors.As(err, &ve) {
		return err
	}
	return &httpError{status: http.StatusUnauthorized, code: i18n.SSOFailed, cause: err}
}

func clipText(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return url.QueryEscape(s)
}

func (a *API) secure(r *http.Request) bool {
	return r.TLS != nil || (a.trust && r.Header.Get("X-Forwarded-Proto") == "https")
}

func (a *API) listGroupBindings(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GroupBindingRead, authz.Platform); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[sso.GroupBinding]
	err = a.view(r, func(tx platform.Tx) (err error) {
		page, err = a.p.GroupBindings(r.Context(), tx, a.caller(r), o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) getGroupBinding(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GroupBindingRead, authz.Platform); err != nil {
		return err
	}
	var b sso.GroupBinding
	err := a.view(r, func(tx platform.Tx) (err error) {
		b, err = a.p.GroupBinding(r.Context(), tx, a.caller(r), r.PathValue("name"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

func (a *API) createGroupBinding(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GroupBindingManage, authz.Platform); err != nil {
		return err
	}
	var b sso.GroupBinding
	if err := decode(r, &b); err != nil {
		return err
	}
	err := a.do(r, "group-binding.create", "group-bindings/"+b.Name, authz.Platform, func(tx platform.Tx) (err error) {
		b, err = a.p.CreateGroupBinding(r.Context(), tx, a.caller(r), b)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, b)
}

func (a *API) updateGroupBinding(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GroupBindingManage, authz.Platform); err != nil {
		return err
	}
	var b sso.GroupBinding
	if err := decode(r, &b); err != nil {
		return err
	}
	name := r.PathValue("name")
	if b.Name != "" && b.Name != name {
		var errs resource.Errors
		errs.Add("name", "must be %q, the name in the path, or left out", name)
		return errs.Err()
	}
	b.Name = name
	err := a.do(r, "group-binding.update", "group-bindings/"+name, authz.Platform, func(tx platform.Tx) (err error) {
		b, err = a.p.UpdateGroupBinding(r.Context(), tx, a.caller(r), b)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

func (a *API) deleteGroupBinding(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GroupBindingManage, authz.Platform); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	err = a.do(r, "group-binding.delete", "group-bindings/"+name, authz.Platform, func(tx platform.Tx) error {
		return a.p.DeleteGroupBinding(r.Context(), tx, a.caller(r), name, v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// applyGroupBinding creates or replaces the group binding of a manifest.
func (a *API) applyGroupBinding(ctx context.Context, tx platform.Tx, c platform.Caller, md manifest.Metadata, s *manifest.GroupBindingSpec) (string, error) {
	b := sso.GroupBinding{Name: md.Name, Provider: s.Provider, Group: s.Group, Role: tenancy.Role(s.Role),
		Scope: tenancy.Scope{Tenant: md.Tenant, Project: md.Project}}
	old, err := a.p.GroupBinding(ctx, tx, c, md.Name)
	if errors.Is(err, resource.ErrNotFound) {
		_, err = a.p.CreateGroupBinding(ctx, tx, c, b)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	if old.Provider == b.Provider && old.Group == b.Group && old.Role == b.Role && old.Scope == b.Scope {
		return "unchanged", nil
	}
	b.ResourceVersion = old.ResourceVersion
	_, err = a.p.UpdateGroupBinding(ctx, tx, c, b)
	return "updated", err
}

// redirect answers status with Location to and no body (http.Redirect
// adds a small HTML page, which the OpenAPI document does not declare).
func redirect(w http.ResponseWriter, to string, status int) {
	w.Header().Set("Location", to)
	w.WriteHeader(status)
}
