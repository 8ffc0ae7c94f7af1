package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
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
			p.tokenID = tok.ID
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

// LoginRequest is the body of POST /login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Token, when set, asks for an API token (for the CLI) instead of a
	// console session cookie.
	Token *TokenRequest `json:"token,omitempty"`
}

// TokenRequest asks for an API token.
type TokenRequest struct {
	Name string `json:"name"`
	// TTL is a Go duration ("720h"); empty means the server's default.
	TTL string `json:"ttl,omitempty"`
}

// LoginResponse answers a successful login.
type LoginResponse struct {
	User      identity.User `json:"user"`
	ExpiresAt time.Time     `json:"expiresAt"`
	// CSRFToken is for console sessions: send it back in X-CSRF-Token.
	CSRFToken string `json:"csrfToken,omitempty"`
	// Token is the API token's secret, shown only now.
	Token   string          `json:"token,omitempty"`
	TokenID string          `json:"tokenId,omitempty"`
	Roles   []authz.Binding `json:"roles"`
}

// WhoAmI describes the caller.
type WhoAmI struct {
	User  identity.User   `json:"user"`
	Roles []authz.Binding `json:"roles"`
}

func (a *API) registerAuth() {
	a.route(Route{Method: "POST", Path: "/login", Summary: "Log in: a console session cookie, or an API token for the CLI",
		Public: true, Request: "LoginRequest", Response: "LoginResponse"}, a.login)
	a.route(Route{Method: "POST", Path: "/logout", Summary: "End the console session", Response: "none"}, a.logout)
	a.route(Route{Method: "GET", Path: "/whoami", Summary: "The caller and its role bindings", Response: "WhoAmI"}, a.whoami)
}

var errBadCredentials = &httpError{status: http.StatusUnauthorized, code: i18n.BadCredentials}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var req LoginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.Token != nil && req.Token.TTL != "" {
		d, err := time.ParseDuration(req.Token.TTL)
		if err != nil || d < 0 {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "token.ttl", Reason: "must be a duration such as 720h"}}}
		}
		ttl = d
	}
	ip := a.sourceIP(r)
	act := audit.Actor{User: req.Username, SourceIP: ip, RequestID: requestID(r)}
	ev := audit.Event{Action: "user.login", Target: "users/" + req.Username}
	if wait := a.limiter.Check(req.Username, ip); wait > 0 {
		ev.Summary = "login refused: too many failed attempts"
		err := a.p.Do(r.Context(), act, ev, func(platform.Tx) error { return resource.ErrUnauthenticated })
		return &httpError{status: http.StatusTooManyRequests, code: i18n.TooManyRequests, retryAfter: wait, cause: err}
	}
	var resp LoginResponse
	var sessionSecret string
	ctx := r.Context()
	err := a.p.Do(ctx, act, ev, func(tx platform.Tx) error {
		var err error
		if req.Token == nil {
			resp, sessionSecret, err = a.openSession(ctx, tx, act, req)
		} else {
			resp, err = a.issueToken(ctx, tx, act, req, ttl)
		}
		if err != nil {
			return err
		}
		ms, err := a.p.Tenancy.MembershipsOf(ctx, tx, resp.User.Name)
		resp.Roles = bindingsOf(ms)
		return err
	})
	if errors.Is(err, resource.ErrUnauthenticated) {
		a.limiter.Fail(req.Username, ip)
		return fmt.Errorf("login %s: %w", req.Username, errBadCredentials)
	}
	if err != nil {
		return err
	}
	a.limiter.Succeed(req.Username)
	if sessionSecret != "" {
		resp.CSRFToken = randomToken()
		a.setSessionCookies(w, r, sessionSecret, resp.CSRFToken, resp.ExpiresAt)
	}
	return writeJSON(w, http.StatusOK, resp)
}

// openSession logs in for the console: a session whose secret goes into
// the cookie. Identity records the login.
func (a *API) openSession(ctx context.Context, tx platform.Tx, act audit.Actor, req LoginRequest) (LoginResponse, string, error) {
	sess, secret, err := a.p.Identity.Login(ctx, tx, act, req.Username, req.Password)
	if err != nil {
		return LoginResponse{}, "", err
	}
	u, err := a.p.Identity.GetUser(ctx, tx, sess.User)
	return LoginResponse{User: u, ExpiresAt: sess.ExpiresAt}, secret, err
}

// issueToken logs in for the CLI: it records the login and issues an API
// token, whose secret is in the response.
func (a *API) issueToken(ctx context.Context, tx platform.Tx, act audit.Actor, req LoginRequest, ttl time.Duration) (LoginResponse, error) {
	u, err := a.p.Identity.Authenticate(ctx, tx, req.Username, req.Password)
	if err != nil {
		return LoginResponse{}, err
	}
	act.User = u.Name
	_, err = audit.Append(ctx, tx, a.clock.Now(), act, audit.Event{Action: "user.login", Target: "users/" + u.Name,
		Summary: fmt.Sprintf("%s logged in for an API token %q", u.Name, req.Token.Name)})
	if err != nil {
		return LoginResponse{}, err
	}
	tok, secret, err := a.p.Identity.CreateToken(ctx, tx, act, u.Name, req.Token.Name, ttl)
	return LoginResponse{User: u, Token: secret, TokenID: tok.ID, ExpiresAt: tok.ExpiresAt}, err
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
	return writeJSON(w, http.StatusOK, WhoAmI{User: p.user, Roles: roles})
}
