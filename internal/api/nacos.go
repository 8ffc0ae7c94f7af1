package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// # Nacos HTTP API
//
// Berth answers the configuration part of the Nacos HTTP API under
// NacosPrefix, as the Nacos Java and Go clients send it, so that Spring
// Cloud Alibaba applications use Berth as their configuration center
// unchanged (docs/config-center.md). A Nacos namespace ("tenant") names a
// Berth environment as "<tenant>.<project>.<environment>"; the public
// namespace names none and is refused. Callers authenticate with an
// accessToken from /v1/auth/users/login (a Berth user's password, or a
// Berth API token as the password) or with a Berth API token directly;
// Berth's roles decide what they may read and write, and every change goes
// through the platform's operations (audit, four eyes, change events).

// NacosPrefix is where the Nacos HTTP API is served.
const NacosPrefix = "/nacos"

// Nacos serves the Nacos HTTP API; mount it at NacosPrefix + "/".
func (a *API) Nacos() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error, v2 bool) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			r.Body = http.MaxBytesReader(w, r.Body, configcenter.MaxContent+64<<10)
			ctx := context.WithValue(r.Context(), requestIDKey{}, newRequestID())
			r = r.WithContext(ctx)
			if err := h(w, r); err != nil {
				a.writeNacosError(w, r, err, v2)
			}
		})
	}
	p := NacosPrefix
	handle("POST "+p+"/v1/auth/users/login", a.nacosLogin, false)
	handle("POST "+p+"/v1/auth/login", a.nacosLogin, false)
	handle("GET "+p+"/v1/cs/configs", a.nacosGetV1, false)
	handle("POST "+p+"/v1/cs/configs", a.nacosPublishV1, false)
	handle("DELETE "+p+"/v1/cs/configs", a.nacosDeleteV1, false)
	handle("POST "+p+"/v1/cs/configs/listener", a.nacosListen, false)
	handle("GET "+p+"/v2/cs/config", a.nacosGetV2, true)
	handle("POST "+p+"/v2/cs/config", a.nacosPublishV2, true)
	handle("DELETE "+p+"/v2/cs/config", a.nacosDeleteV2, true)
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Berth serves the configuration part of the Nacos API only", http.StatusNotFound)
	})
	return mux
}

// writeNacosError answers as Nacos does: v1 a status and a plain-text
// message, v2 a JSON body {code, message, data}.
func (a *API) writeNacosError(w http.ResponseWriter, r *http.Request, err error, v2 bool) {
	status, body, _ := classify(err)
	if errors.Is(err, resource.ErrNotFound) {
		status, body.Message = http.StatusNotFound, "config data not exist"
	}
	if body.Message == "" {
		body.Message = i18n.Message(body.Code, i18n.Pick(r.Header.Get("Accept-Language")))
	}
	for _, f := range body.Fields {
		body.Message += "; " + f.Path + ": " + f.Reason
	}
	a.log.Log(r.Context(), slogLevel(status), "nacos request failed", "method", r.Method, "path", r.URL.Path,
		"status", status, "request_id", requestID(r), "err", err)
	if !v2 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body.Message))
		return
	}
	code := map[int]int{http.StatusBadRequest: 10000, http.StatusUnprocessableEntity: 10000, http.StatusUnauthorized: 40100,
		http.StatusForbidden: 40300, http.StatusNotFound: 20004, http.StatusConflict: 20005}[status]
	if code == 0 {
		code = 30000
	}
	_ = writeJSON(w, status, map[string]any{"code": code, "message": body.Message, "data": nil})
}

// nacosLogin turns a Berth user's password, or a Berth API token given as
// the password, into an accessToken: a session for a password (its TTL
// is the session's), the token itself for a token.
func (a *API) nacosLogin(w http.ResponseWriter, r *http.Request) error {
	user, pass := r.FormValue("username"), r.FormValue("password")
	ip := a.sourceIP(r)
	if strings.HasPrefix(pass, identity.TokenPrefix) {
		c, err := a.nacosCaller(r.Context(), pass, ip, requestID(r))
		if err != nil {
			return fmt.Errorf("nacos login with a token: %w", errors.Join(errBadCredentials, err))
		}
		ttl := 0
		var tok identity.Token
		_ = a.p.DB.View(r.Context(), func(tx platform.Tx) (err error) {
			_, tok, err = a.p.Identity.AuthenticateToken(r.Context(), tx, pass)
			return err
		})
		if !tok.ExpiresAt.IsZero() {
			ttl = int(tok.ExpiresAt.Sub(a.clock.Now()).Seconds())
		}
		return writeJSON(w, http.StatusOK, map[string]any{"accessToken": pass, "tokenTtl": ttl, "globalAdmin": authz.IsPlatformAdmin(c.Bindings), "username": c.User})
	}
	req := apiLogin(user, pass)
	if _, err := loginTokenSpec(req); err != nil {
		return err
	}
	attempt, wait := a.limiter.Begin(user, ip)
	if wait > 0 {
		return &httpError{status: http.StatusTooManyRequests, code: i18n.TooManyRequests, retryAfter: wait,
			cause: a.refused(r, user, ip, "too many failed attempts")}
	}
	act := audit.Actor{User: user, SourceIP: ip, RequestID: requestID(r)}
	resp, secret, err := a.authenticateLogin(r, act, req, identity.TokenSpec{})
	if errors.Is(err, resource.ErrUnauthenticated) {
		return fmt.Errorf("nacos login %s: %w", user, errors.Join(errBadCredentials, a.refused(r, user, ip, "wrong user name or password")))
	}
	if err != nil {
		attempt.Abandon()
		return err
	}
	attempt.Succeeded()
	ttl := int(resp.ExpiresAt.Sub(a.clock.Now()).Seconds())
	return writeJSON(w, http.StatusOK, map[string]any{"accessToken": secret, "tokenTtl": ttl,
		"globalAdmin": authz.IsPlatformAdmin(resp.Roles), "username": resp.User.Name})
}

// nacosToken is the credential of a Nacos request: the accessToken
// parameter or header, or a bearer token.
func nacosToken(r *http.Request) string {
	if t := r.URL.Query().Get("accessToken"); t != "" {
		return t
	}
	if t := r.Header.Get("accessToken"); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	if r.Method == http.MethodPost || r.Method == http.MethodDelete {
		return r.PostFormValue("accessToken")
	}
	return ""
}

// nacosCaller authenticates a Nacos credential (an API token or a session
// secret from nacosLogin) and loads its role bindings. Tokens carrying a
// token role (gateways) are refused.
func (a *API) nacosCaller(ctx context.Context, secret, ip, reqID string) (platform.Caller, error) {
	if secret == "" {
		return platform.Caller{}, fmt.Errorf("no accessToken: %w", resource.ErrUnauthenticated)
	}
	c, ok := a.callers.get(secret)
	if ok {
		c.Actor.SourceIP, c.Actor.RequestID = ip, reqID
		return c, nil
	}
	gen := a.callers.generation()
	var expires time.Time
	err := a.p.DB.View(ctx, func(tx platform.Tx) error {
		var u identity.User
		var err error
		if strings.HasPrefix(secret, identity.TokenPrefix) {
			var tok identity.Token
			u, tok, err = a.p.Identity.AuthenticateToken(ctx, tx, secret)
			if err == nil && tok.Role != "" {
				err = fmt.Errorf("a %s token: %w", tok.Role, resource.ErrForbidden)
			}
			expires = tok.ExpiresAt
		} else {
			var sess identity.Session
			u, sess, err = a.p.Identity.AuthenticateSession(ctx, tx, secret)
			expires = sess.ExpiresAt
		}
		if err != nil {
			return err
		}
		ms, err := a.p.Tenancy.MembershipsOf(ctx, tx, u.Name)
		c.Bindings = bindingsOf(ms)
		c.Actor = audit.Actor{User: u.Name}
		for _, b := range c.Bindings {
			c.Roles = append(c.Roles, string(b.Role)+"@"+b.Scope.String())
		}
		return err
	})
	if err != nil {
		return platform.Caller{}, err
	}
	a.callers.put(secret, gen, c, expires)
	c.Actor.SourceIP, c.Actor.RequestID = ip, reqID
	return c, nil
}

func (a *API) nacosRequestCaller(r *http.Request) (platform.Caller, error) {
	return a.nacosCaller(r.Context(), nacosToken(r), a.sourceIP(r), requestID(r))
}

// nacosKey reads a key from a request's parameters: dataId, group
// (DEFAULT_GROUP when empty) and the namespace in nsParam.
func nacosKey(r *http.Request, nsParam string) (configcenter.Key, error) {
	return nacosKeyOf(r.FormValue("dataId"), r.FormValue("group"), r.FormValue(nsParam), nsParam)
}

func nacosKeyOf(dataID, group, ns, nsParam string) (configcenter.Key, error) {
	env, ok := configcenter.ParseNamespace(ns)
	if !ok {
		var errs resource.Errors
		errs.Add(nsParam, "must name a Berth environment as <tenant>.<project>.<environment>, got %q", ns)
		return configcenter.Key{}, errs.Err()
	}
	if group == "" {
		group = configcenter.DefaultGroup
	}
	k := configcenter.Key{Tenant: env.Tenant, Project: env.Project, Environment: env.Environment, Group: group, DataID: dataID}
	if dataID == "" {
		var errs resource.Errors
		errs.Add("dataId", "must not be empty")
		return configcenter.Key{}, errs.Err()
	}
	return k, nil
}

// nacosServe authorises, then reads what the client is served of k.
func (a *API) nacosServe(r *http.Request, nsParam string) (configcenter.Served, error) {
	c, err := a.nacosRequestCaller(r)
	if err != nil {
		return configcenter.Served{}, err
	}
	k, err := nacosKey(r, nsParam)
	if err != nil {
		return configcenter.Served{}, err
	}
	return a.p.ServeConfig(r.Context(), c, k, configcenter.Client{IP: a.sourceIP(r)})
}

func (a *API) nacosGetV1(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("search") != "" {
		return a.nacosSearch(w, r)
	}
	s, err := a.nacosServe(r, "tenant")
	if err != nil {
		return err
	}
	w.Header().Set("Config-Type", string(s.Type))
	w.Header().Set("Content-MD5", s.MD5)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.Gray {
		w.Header().Set("isBeta", "true")
	}
	_, err = w.Write([]byte(s.Content))
	return err
}

func (a *API) nacosGetV2(w http.ResponseWriter, r *http.Request) error {
	s, err := a.nacosServe(r, "namespaceId")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"code": 0, "message": "success", "data": s.Content})
}

// nacosWriter authenticates the caller of a write to the item the
// request names, and checks that it may write there.
func (a *API) nacosWriter(r *http.Request, nsParam string) (platform.Caller, configcenter.Key, error) {
	c, err := a.nacosRequestCaller(r)
	if err != nil {
		return platform.Caller{}, configcenter.Key{}, err
	}
	k, err := nacosKey(r, nsParam)
	if err != nil {
		return platform.Caller{}, configcenter.Key{}, err
	}
	return c, k, a.nacosMay(r, c, authz.ConfigWrite, k)
}

// nacosPublish publishes the form's content at once (refused where the
// environment requires approvals).
func (a *API) nacosPublish(r *http.Request, nsParam string) error {
	c, k, err := a.nacosWriter(r, nsParam)
	if err != nil {
		return err
	}
	ch, err := nacosChange(k, r.FormValue("type"), r.FormValue("content"), r.FormValue("desc"), r.FormValue("config_tags"))
	if err != nil {
		return err
	}
	ch.CasMD5 = r.FormValue("casMd5")
	return a.p.Do(r.Context(), c.Actor, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "config.publish", Target: k.Path()}, func(tx platform.Tx) error {
		_, err := a.p.PublishConfigNow(r.Context(), tx, c, ch)
		return err
	})
}

// nacosMay checks perm before anything else is read, and audits a
// refused change.
func (a *API) nacosMay(r *http.Request, c platform.Caller, perm authz.Permission, k configcenter.Key) error {
	scope := authz.Scope{Tenant: k.Tenant, Project: k.Project}
	if authz.Allowed(c.Bindings, perm, scope) {
		return nil
	}
	err := fmt.Errorf("%s on %s: %w", perm, scope, resource.ErrForbidden)
	return a.p.Do(r.Context(), c.Actor, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "config.publish", Target: k.Path()},
		func(platform.Tx) error { return err })
}

func nacosChange(k configcenter.Key, typ, content, desc, tags string) (configcenter.Change, error) {
	t, ok := configcenter.ParseType(typ)
	if !ok {
		var errs resource.Errors
		errs.Add("type", "must be one of text, yaml, properties, json (or Nacos' xml, html, txt), got %q", typ)
		return configcenter.Change{}, errs.Err()
	}
	if typ == "" {
		t = "" // keep an existing item's type
	}
	ch := configcenter.Change{Key: k, Type: t, Content: content}
	if desc != "" {
		ch.Description = &desc
	}
	if tags != "" {
		ch.Tags = strings.Split(tags, ",")
	}
	return ch, nil
}

func (a *API) nacosPublishV1(w http.ResponseWriter, r *http.Request) error {
	if err := a.nacosPublish(r, "tenant"); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write([]byte("true"))
	return err
}

func (a *API) nacosPublishV2(w http.ResponseWriter, r *http.Request) error {
	if err := a.nacosPublish(r, "namespaceId"); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"code": 0, "message": "success", "data": true})
}

func (a *API) nacosDelete(r *http.Request, nsParam string) error {
	c, k, err := a.nacosWriter(r, nsParam)
	if err != nil {
		return err
	}
	return a.p.Do(r.Context(), c.Actor, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "config.delete", Target: k.Path()}, func(tx platform.Tx) error {
		_, err := a.p.RemoveConfigNow(r.Context(), tx, c, k)
		return err
	})
}

func (a *API) nacosDeleteV1(w http.ResponseWriter, r *http.Request) error {
	if err := a.nacosDelete(r, "tenant"); err != nil {
		return err
	}
	_, err := w.Write([]byte("true"))
	return err
}

func (a *API) nacosDeleteV2(w http.ResponseWriter, r *http.Request) error {
	if err := a.nacosDelete(r, "namespaceId"); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"code": 0, "message": "success", "data": true})
}

// nacosSearch answers the SDK's SearchConfig: an environment's items
// whose dataId and group match ("blur": '*' matches any run), a page at
// a time, with content (a secret item's only for who may read secrets).
func (a *API) nacosSearch(w http.ResponseWriter, r *http.Request) error {
	c, err := a.nacosRequestCaller(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	env, ok := configcenter.ParseNamespace(q.Get("tenant"))
	if !ok {
		_, err := nacosKeyOf("x", "", q.Get("tenant"), "tenant")
		return err
	}
	pageNo, _ := strconv.Atoi(q.Get("pageNo"))
	pageSize, _ := strconv.Atoi(q.Get("pageSize"))
	pageNo, pageSize = max(pageNo, 1), min(max(pageSize, 1), 500)
	blur := q.Get("search") == "blur"
	match := func(pat, s string) bool {
		if pat == "" {
			return true
		}
		if !blur {
			return pat == s
		}
		return globMatch(pat, s)
	}
	var items []configcenter.Item
	err = a.p.DB.View(r.Context(), func(tx platform.Tx) error {
		o := resource.ListOptions{Limit: 500}
		for {
			page, err := a.p.ConfigItems(r.Context(), tx, c, env, o)
			if err != nil {
				return err
			}
			for _, it := range page.Items {
				if match(q.Get("dataId"), it.DataID) && match(q.Get("group"), it.Group) {
					items = append(items, it)
				}
			}
			if page.Continue == "" {
				return nil
			}
			o.Continue = page.Continue
		}
	})
	if err != nil {
		return err
	}
	total := len(items)
	from := min((pageNo-1)*pageSize, total)
	items = items[from:min(from+pageSize, total)]
	out := make([]map[string]any, 0, len(items))
	err = a.p.DB.View(r.Context(), func(tx platform.Tx) error {
		for _, it := range items {
			full, redacted, err := a.p.ConfigItem(r.Context(), tx, c, it.Key)
			if err != nil {
				return err
			}
			content := full.Content
			if redacted {
				content = ""
			}
			out = append(out, map[string]any{"id": it.Revision, "dataId": it.DataID, "group": it.Group, "content": content,
				"md5": it.MD5, "tenant": env.Namespace(), "type": string(it.Type), "appName": ""})
		}
		return nil
	})
	if err != nil {
		return err
	}
	pages := (total + pageSize - 1) / pageSize
	return writeJSON(w, http.StatusOK, map[string]any{"totalCount": total, "pageNumber": pageNo, "pagesAvailable": pages, "pageItems": out})
}

// globMatch matches s against pat, where '*' matches any run of characters.
func globMatch(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

func apiLogin(user, pass string) apitypes.LoginRequest {
	return apitypes.LoginRequest{Username: user, Password: pass}
}
