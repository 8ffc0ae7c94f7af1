package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
)

// Cookie and header names of console sessions.
const (
	SessionCookie = "berth_session"
	CSRFCookie    = "berth_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

type principalKey struct{}

// principal is the authenticated caller.
type principal struct {
	user     identity.User
	bindings []authz.Binding
	cookie   bool   // authenticated by session cookie (CSRF applies)
	session  string // the session secret, for logout
	tokenID  string
	// tokenExpires is the expiry of the API token, which tokens minted
	// with it may not outlive.
	tokenExpires time.Time
	// tokenRole is the one role the API token carries instead of the
	// user's bindings; it reaches only the routes of tokenRoleRoutes.
	tokenRole authz.Role
}

// tokenRoleRoutes are the only routes a token carrying a role may call;
// every other one, the caller's own account and tokens included, is
// refused before its handler runs.
var tokenRoleRoutes = map[authz.Role][]string{
	authz.Gateway: {"GET /gateway/config", "POST /gateway/config/applied"},
}

func principalOf(r *http.Request) *principal {
	p, _ := r.Context().Value(principalKey{}).(*principal)
	return p
}

// authenticate finds the caller by bearer token or session cookie and
// loads its role bindings. Cookie-authenticated requests that change
// something must echo the CSRF cookie in the X-CSRF-Token header.
func (a *API) authenticate(r *http.Request) (*principal, error) {
	p := &principal{}
	ctx := r.Context()
	err := a.p.DB.View(ctx, func(tx platform.Tx) error {
		var err error
		switch {
		case strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "):
			var tok identity.Token
			p.user, tok, err = a.p.Identity.AuthenticateToken(ctx, tx, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			p.tokenID, p.tokenExpires, p.tokenRole = tok.ID, tok.ExpiresAt, tok.Role
		default:
			c, cerr := r.Cookie(SessionCookie)
			if cerr != nil {
				return resource.ErrUnauthenticated
			}
			p.cookie, p.session = true, c.Value
			p.user, _, err = a.p.Identity.AuthenticateSession(ctx, tx, c.Value)
		}
		if err != nil {
			return err
		}
		if p.tokenRole != "" {
			p.bindings = []authz.Binding{{Role: p.tokenRole, Scope: authz.Platform}}
			return nil
		}
		ms, err := a.p.Tenancy.MembershipsOf(ctx, tx, p.user.Name)
		if err != nil {
			return err
		}
		p.bindings = bindingsOf(ms)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.tokenRole != "" && !slices.Contains(tokenRoleRoutes[p.tokenRole], r.Pattern) {
		if !safeMethod(r.Method) {
			a.auditRoleRefused(r, p)
		}
		return nil, fmt.Errorf("a %s token calls %s: %w", p.tokenRole, r.Pattern, errForbidden)
	}
	if p.cookie && !safeMethod(r.Method) && !csrfOK(r) {
		return nil, errCSRF
	}
	return p, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(CSRFCookie)
	h := r.Header.Get(CSRFHeader)
	return err == nil && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(h)) == 1
}

func bindingsOf(ms []tenancy.Member) []authz.Binding {
	out := make([]authz.Binding, len(ms))
	for i, m := range ms {
		out[i] = authz.Binding{Role: authz.Role(m.Role), Scope: authz.Scope{Tenant: m.Scope.Tenant, Project: m.Scope.Project}}
	}
	return out
}

// actor is the audit actor of the request.
func (a *API) actor(r *http.Request) audit.Actor {
	act := audit.Actor{SourceIP: a.sourceIP(r), RequestID: requestID(r)}
	if p := principalOf(r); p != nil {
		act.User = p.user.Name
		for _, b := range p.bindings {
			act.Roles = append(act.Roles, string(b.Role)+"@"+b.Scope.String())
		}
	}
	return act
}

// caller is who the request acts as, for the platform's operations: its
// actor and role bindings.
func (a *API) caller(r *http.Request) platform.Caller {
	c := platform.Caller{Actor: a.actor(r)}
	if p := principalOf(r); p != nil {
		c.Bindings = p.bindings
	}
	return c
}

// authorize returns nil when the caller may use perm at scope. A refused
// change is audited as denied.
func (a *API) authorize(r *http.Request, perm authz.Permission, scope authz.Scope) error {
	decide(r)
	p := principalOf(r)
	if p != nil && authz.Allowed(p.bindings, perm, scope) {
		return nil
	}
	if !safeMethod(r.Method) {
		a.auditDenied(r, perm, scope)
	}
	return fmt.Errorf("%s on %s: %w", perm, scope, errForbidden)
}

// auditRoleRefused records a change refused because the caller's token
// carries a role that does not reach the route.
func (a *API) auditRoleRefused(r *http.Request, p *principal) {
	act := audit.Actor{User: p.user.Name, Roles: []string{string(p.tokenRole) + "@" + authz.Platform.String()},
		SourceIP: a.sourceIP(r), RequestID: requestID(r)}
	ev := audit.Event{Action: "token.role-refused", Target: r.URL.Path, Outcome: audit.Denied,
		Summary: fmt.Sprintf("%s %s refused: token %s carries only the role %s", r.Method, r.URL.Path, p.tokenID, p.tokenRole)}
	if err := a.auditSink(context.WithoutCancel(r.Context()), act, ev); err != nil {
		a.log.Error("audit a denied request", "request_id", requestID(r), "err", err)
	}
}

// auditSink appends one audit record in a transaction of its own.
func (a *API) auditSink(ctx context.Context, act audit.Actor, ev audit.Event) error {
	return a.p.DB.InTx(ctx, func(tx platform.Tx) error {
		_, err := audit.Append(ctx, tx, a.clock.Now(), act, ev)
		return err
	})
}

func (a *API) auditDenied(r *http.Request, perm authz.Permission, scope authz.Scope) {
	ctx := context.WithoutCancel(r.Context())
	ev := audit.Event{Tenant: scope.Tenant, Project: scope.Project, Action: strings.ReplaceAll(string(perm), ":", "."),
		Target: r.URL.Path, Outcome: audit.Denied, Summary: fmt.Sprintf("%s %s refused: no %s at %s", r.Method, r.URL.Path, perm, scope)}
	err := a.p.DB.InTx(ctx, func(tx platform.Tx) error {
		_, err := audit.Append(ctx, tx, a.clock.Now(), a.actor(r), ev)
		return err
	})
	if err != nil {
		a.log.Error("audit a denied request", "request_id", requestID(r), "err", err)
	}
}

// do runs fn in one transaction through the platform, which audits a
// failure after rolling back.
func (a *API) do(r *http.Request, action, target string, scope authz.Scope, fn func(tx platform.Tx) error) error {
	ev := audit.Event{Tenant: scope.Tenant, Project: scope.Project, Action: action, Target: target}
	return a.p.Do(r.Context(), a.actor(r), ev, fn)
}

// view runs fn in a read-only transaction.
func (a *API) view(r *http.Request, fn func(tx platform.Tx) error) error {
	return a.p.DB.View(r.Context(), fn)
}

func (a *API) registerAuth() {
	a.limiter.refusals = identity.NewRefusals(a.limiter.clock, a.limiter.opts.Window, 0, a.auditSink, a.log)
	a.route(Route{Method: "POST", Path: "/login", Summary: "Log in: a console session cookie, or an API token for the CLI",
		Public: true, Request: "LoginRequest", Response: "LoginResponse"}, a.login)
	a.route(Route{Method: "POST", Path: "/logout", Summary: "End the console session", Response: "none"}, a.logout)
	a.route(Route{Method: "GET", Path: "/whoami", Summary: "The caller and its role bindings", Response: "WhoAmI"}, a.whoami)
	a.route(Route{Method: "GET", Path: "/whoami/permissions", Summary: "What the caller may do at a scope (the platform, a tenant or a project), for consoles to offer only what will be allowed",
		Query: []string{"tenant", "project"}, Response: "Permissions"}, a.permissions)
}

var errBadCredentials = &httpError{status: http.StatusUnauthorized, code: i18n.BadCredentials}

// maxLoginBody bounds the body of POST /login: a user name, a password and
// a token request fit many times over.
const maxLoginBody = 8 << 10

// busy answers a request that found every password hashing slot taken.
func busy(err error) error {
	if errors.Is(err, identity.ErrBusy) {
		return &httpError{status: http.StatusServiceUnavailable, code: i18n.Busy, retryAfter: time.Second, cause: err}
	}
	return err
}

// Close writes the audit records of refused logins still being counted;
// call it when the server stops.
func (a *API) Close() error {
	return a.limiter.refusals.Close(context.Background())
}

// login checks the shape of the request before anything is hashed or
// written, then the limits of the user name and the source, which count
// the attempt at once. Refusals are audited through the limiter's
// aggregate, one record per source and window plus the first.
func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	var req apitypes.LoginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	spec, err := loginTokenSpec(req)
	if err != nil {
		return err
	}
	ip := a.sourceIP(r)
	act := audit.Actor{User: req.Username, SourceIP: ip, RequestID: requestID(r)}
	if err := a.limiter.refusals.Attempting(r.Context(), ip); err != nil {
		a.log.Error("audit refused logins", "request_id", requestID(r), "err", err)
	}
	attempt, wait := a.limiter.Begin(req.Username, ip)
	if wait > 0 {
		err := a.refused(r, req.Username, ip, "too many failed attempts")
		return &httpError{status: http.StatusTooManyRequests, code: i18n.TooManyRequests, retryAfter: wait, cause: err}
	}
	resp, sessionSecret, err := a.authenticateLogin(r, act, req, spec)
	ctx := r.Context()
	switch {
	case errors.Is(err, resource.ErrUnauthenticated):
		return fmt.Errorf("login %s: %w", req.Username, errors.Join(errBadCredentials, a.refused(r, req.Username, ip, "wrong user name or password")))
	case errors.Is(err, identity.ErrBusy):
		attempt.Abandon()
		return busy(err)
	case errors.Is(err, sso.ErrUnavailable):
		attempt.Abandon()
		ev := audit.Event{Action: "user.login", Target: "users/" + req.Username, Summary: "login through a directory"}
		err = a.p.Do(ctx, act, ev, func(platform.Tx) error { return err })
		return &httpError{status: http.StatusServiceUnavailable, code: i18n.SSOUnavailable, retryAfter: 5 * time.Second, cause: err}
	case err != nil:
		attempt.Abandon()
		ev := audit.Event{Action: "user.login", Target: "users/" + req.Username}
		return a.p.Do(ctx, act, ev, func(platform.Tx) error { return err })
	}
	attempt.Succeeded()
	if err := a.limiter.refusals.Succeeded(ctx, ip); err != nil {
		a.log.Error("audit refused logins", "request_id", requestID(r), "err", err)
	}
	if sessionSecret != "" {
		resp.CSRFToken = randomToken()
		a.setSessionCookies(w, r, sessionSecret, resp.CSRFToken, resp.ExpiresAt)
	}
	return writeJSON(w, http.StatusOK, resp)
}

// authenticateLogin checks the password in a read-only transaction, after
// waiting for a hashing slot outside any, then opens the session or issues
// the token in a write transaction of its own: no password hash is ever
// computed under the database's write lock.
func (a *API) authenticateLogin(r *http.Request, act audit.Actor, req apitypes.LoginRequest, spec identity.TokenSpec) (apitypes.LoginResponse, string, error) {
	u, err := a.checkPassword(r, act, req)
	if err != nil {
		return apitypes.LoginResponse{}, "", err
	}
	ctx := r.Context()
	var resp apitypes.LoginResponse
	var sessionSecret string
	err = a.p.DB.InTx(ctx, func(tx platform.Tx) error {
		var err error
		if req.Token == nil {
			var sess identity.Session
			sess, sessionSecret, err = a.p.Identity.OpenSession(ctx, tx, act, u.Name)
			resp = apitypes.LoginResponse{User: u, ExpiresAt: sess.ExpiresAt}
		} else {
			resp, err = a.issueToken(ctx, tx, act, u, req.Token.Name, spec)
		}
		if err != nil {
			return err
		}
		ms, err := a.p.Tenancy.MembershipsOf(ctx, tx, resp.User.Name)
		resp.Roles = bindingsOf(ms)
		return err
	})
	return resp, sessionSecret, err
}

// checkPassword authenticates a login: with the directory it names; else
// as a local user (the break-glass admin among them), then with each
// configured directory in order. A directory user is provisioned and its
// role bindings synced from the group bindings (platform.DirectoryLogin).
func (a *API) checkPassword(r *http.Request, act audit.Actor, req apitypes.LoginRequest) (identity.User, error) {
	if req.Directory != "" {
		return a.p.DirectoryLogin(r.Context(), act, req.Directory, req.Username, req.Password)
	}
	ctx, release, err := a.p.Identity.Hasher().Reserve(r.Context())
	if err != nil {
		return identity.User{}, err
	}
	var u identity.User
	err = a.p.DB.View(ctx, func(tx platform.Tx) error {
		var err error
		u, err = a.p.Identity.Authenticate(ctx, tx, req.Username, req.Password)
		return err
	})
	release()
	if errors.Is(err, resource.ErrUnauthenticated) && len(a.p.Directories) > 0 {
		return a.p.DirectoryLogin(r.Context(), act, "", req.Username, req.Password)
	}
	return u, err
}

// loginTokenSpec checks a login's credentials and token request; a login
// asks for no token role.
func loginTokenSpec(req apitypes.LoginRequest) (identity.TokenSpec, error) {
	var errs resource.Errors
	if err := identity.CheckCredentials(req.Username, req.Password); err != nil {
		var ve *resource.ValidationError
		errors.As(err, &ve)
		for _, f := range ve.Fields {
			errs.Add(f.Path, "%s", f.Reason)
		}
	}
	var spec identity.TokenSpec
	if req.Token != nil {
		spec = tokenRequestSpec(*req.Token, &errs)
	}
	return spec, errs.Err()
}

// tokenRequestSpec checks the token a login asks for, adding what is
// wrong to errs at "token.*".
func tokenRequestSpec(t apitypes.TokenRequest, errs *resource.Errors) identity.TokenSpec {
	errs.CheckName("token.name", t.Name)
	spec := identity.TokenSpec{Name: t.Name}
	if t.TTL != "" {
		d, err := time.ParseDuration(t.TTL)
		if err != nil || d < 0 {
			errs.Add("token.ttl", "must be a duration such as 720h")
		}
		spec.TTL = d
	}
	if t.Role != "" {
		errs.Add("token.role", "a login issues tokens with the user's own roles; create a %s token with POST /tokens", t.Role)
	}
	return spec
}

// refused audits a refused login through the aggregate of its source and
// returns the error of writing it, if any, for the log.
func (a *API) refused(r *http.Request, user, ip, reason string) error {
	return a.limiter.refusals.Refused(r.Context(), identity.Refusal{Source: ip, User: user, RequestID: requestID(r), Reason: reason})
}

// issueToken logs in for the CLI: it records the login of u, who
// authenticated, and issues an API token, whose secret is in the response.
func (a *API) issueToken(ctx context.Context, tx platform.Tx, act audit.Actor, u identity.User, name string, spec identity.TokenSpec) (apitypes.LoginResponse, error) {
	act.User = u.Name
	_, err := audit.Append(ctx, tx, a.clock.Now(), act, audit.Event{Action: "user.login", Target: "users/" + u.Name,
		Summary: fmt.Sprintf("%s logged in for an API token %q", u.Name, name)})
	if err != nil {
		return apitypes.LoginResponse{}, err
	}
	tok, secret, err := a.p.Identity.IssueToken(ctx, tx, act, u.Name, spec)
	return apitypes.LoginResponse{User: u, Token: secret, TokenID: tok.ID, ExpiresAt: tok.ExpiresAt}, err
}

// setSessionCookies sets the HttpOnly session cookie and the CSRF cookie
// the console echoes in X-CSRF-Token; both Secure when served over TLS.
func (a *API) setSessionCookies(w http.ResponseWriter, r *http.Request, secret, csrf string, expires time.Time) {
	secure := r.TLS != nil || (a.trust && r.Header.Get("X-Forwarded-Proto") == "https")
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", Expires: expires,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: csrf, Path: "/", Expires: expires,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	decide(r) // one's own session
	p := principalOf(r)
	if p.cookie {
		err := a.do(r, "user.logout", "users/"+p.user.Name, authz.Platform, func(tx platform.Tx) error {
			return a.p.Identity.Logout(r.Context(), tx, a.actor(r), p.session)
		})
		if err != nil {
			return err
		}
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == SessionCookie,
			SameSite: http.SameSiteStrictMode})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) error {
	decide(r) // one's own account
	p := principalOf(r)
	roles := p.bindings
	if roles == nil {
		roles = []authz.Binding{}
	}
	return writeJSON(w, http.StatusOK, apitypes.WhoAmI{User: p.user, Roles: roles})
}

// permissions answers which permissions the caller holds at the scope the
// query names. It only describes the caller's own bindings, so it asks
// for no permission; the operations themselves still decide.
func (a *API) permissions(w http.ResponseWriter, r *http.Request) error {
	decide(r) // one's own account
	q := r.URL.Query()
	scope := authz.Scope{Tenant: q.Get("tenant"), Project: q.Get("project")}
	if scope.Project != "" && scope.Tenant == "" {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "tenant", Reason: "is required with project"}}}
	}
	p := principalOf(r)
	out := apitypes.Permissions{Scope: scope, Permissions: []authz.Permission{}}
	for _, perm := range authz.Permissions() {
		if authz.Allowed(p.bindings, perm, scope) {
			out.Permissions = append(out.Permissions, perm)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
