package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/sso/ldap"
	"berth.dev/berth/internal/sso/ldap/slapdtest"
	"berth.dev/berth/internal/sso/oidc"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/tenancy"
)

// ssoHarness is a real API server over SQLite whose OIDC providers are
// built once its URL is known (their redirect URL points at it).
func ssoHarness(t *testing.T, infos []sso.ProviderInfo, dirs []sso.PasswordDirectory, oidcs func(base string) []sso.RedirectProvider) *harness {
	t.Helper()
	st := storetest.SQLite(t)(t)
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(st, platform.Options{Sealer: sealer, Identity: identity.Options{Argon2: cheapArgon2}, SSO: infos, Directories: dirs})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Bootstrap(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	log := &failOnUndecided{Handler: slog.NewTextHandler(io.Discard, nil), t: t}
	var provs []sso.RedirectProvider
	if oidcs != nil {
		provs = oidcs(srv.URL)
	}
	a := New(Options{Log: slog.New(log), Platform: p, OIDC: provs,
		Limiter: NewLimiter(fake, LimiterOptions{PerUser: 3, PerIP: 10, Window: time.Minute})})
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", a)
	handler = mux
	t.Cleanup(func() {
		srv.Close()
		if err := a.Close(); err != nil {
			t.Errorf("close the API: %v", err)
		}
	})
	seedBank(t, p)
	return &harness{t: t, url: srv.URL, p: p, api: a, clock: fake}
}

// seedBank creates tenant bank with project pay.
func seedBank(t *testing.T, p *platform.Platform) {
	t.Helper()
	err := p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(t.Context(), tx, audit.System, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		_, err := p.Tenancy.CreateProject(t.Context(), tx, audit.System, tenancy.Project{Tenant: "bank", Name: "pay"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mockOP runs an OIDC provider (oauth2-proxy's mockoidc) on loopback.
func mockOP(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func oidcConfig(t *testing.T, m *mockoidc.MockOIDC, base string, change func(*sso.OIDCConfig)) sso.OIDCConfig {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secret, []byte(m.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := sso.OIDCConfig{Name: "idp", Issuer: m.Issuer(), ClientID: m.ClientID, ClientSecretFile: secret,
		RedirectURL: base + Prefix + "/sso/idp/callback"}
	if change != nil {
		change(&c)
	}
	c = c.WithDefaults()
	if err := (sso.Config{OIDC: []sso.OIDCConfig{c}}).Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func oidcHarness(t *testing.T, m *mockoidc.MockOIDC, change func(*sso.OIDCConfig)) *harness {
	t.Helper()
	infos := []sso.ProviderInfo{{Name: "idp", Kind: sso.KindOIDC, DisplayName: sso.DisplayName{"en": "Bank IdP", "zh-CN": "银行身份认证"}}}
	h := ssoHarness(t, infos, nil, func(base string) []sso.RedirectProvider {
		p, err := oidc.New(oidcConfig(t, m, base, change))
		if err != nil {
			t.Fatal(err)
		}
		return []sso.RedirectProvider{p}
	})
	h.bind(sso.GroupBinding{Name: "pay-devs", Provider: "idp", Group: "payments-devs", Role: tenancy.Developer,
		Scope: tenancy.Scope{Tenant: "bank", Project: "pay"}})
	return h
}

// bind creates a group binding as the admin, through the API.
func (h *harness) bind(b sso.GroupBinding) {
	h.t.Helper()
	if res := h.call(h.login(), "POST", "/group-bindings", b); res.status != http.StatusCreated {
		h.t.Fatalf("create group binding: %d %s", res.status, res.body)
	}
}

// login returns an API token of the admin.
func (h *harness) login() string {
	h.t.Helper()
	res := h.call("", "POST", "/login", apitypes.LoginRequest{Username: identity.AdminUser, Password: adminPassword,
		Token: &apitypes.TokenRequest{Name: "test"}})
	var lr apitypes.LoginResponse
	res.decode(h.t, &lr)
	if lr.Token == "" {
		h.t.Fatalf("admin login: %d %s", res.status, res.body)
	}
	return lr.Token
}

// browser is an HTTP client with a cookie jar that follows redirects
// until it is sent to the console ("/").
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func whoami(t *testing.T, c *http.Client, base string) (apitypes.WhoAmI, int) {
	t.Helper()
	res, body := get(t, c, base+Prefix+"/whoami")
	var w apitypes.WhoAmI
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &w); err != nil {
			t.Fatal(err)
		}
	}
	return w, res.StatusCode
}

func TestProvidersArePublicForTheLoginPage(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	res := h.call("", "GET", "/sso/providers", nil)
	var got []sso.ProviderInfo
	res.decode(t, &got)
	want := []sso.ProviderInfo{{Name: "idp", Kind: "oidc", DisplayName: sso.DisplayName{"en": "Bank IdP", "zh-CN": "银行身份认证"}}}
	if res.status != http.StatusOK || len(got) != 1 || got[0].Name != want[0].Name || got[0].Kind != want[0].Kind || got[0].DisplayName["zh-CN"] != "银行身份认证" {
		t.Fatalf("providers = %d %s, want %+v", res.status, res.body, want)
	}
}

func TestOIDCSignInOpensAConsoleSessionWithMappedRoles(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-erin", Email: "erin@bank.test", PreferredUsername: "erin", Groups: []string{"payments-devs", "other"}})
	c := browser(t)
	res, body := get(t, c, h.url+Prefix+"/sso/idp/start")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("sign-in ended with %d %s (Location %q), want 303 to /", res.StatusCode, body, res.Header.Get("Location"))
	}
	u, _ := url.Parse(h.url)
	var names []string
	for _, ck := range c.Jar.Cookies(u) {
		names = append(names, ck.Name)
	}
	if !slices.Contains(names, SessionCookie) || !slices.Contains(names, CSRFCookie) {
		t.Fatalf("cookies = %v, want the session and CSRF cookies", names)
	}
	w, status := whoami(t, c, h.url)
	want := []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "bank", Project: "pay"}}}
	if status != http.StatusOK || w.User.Name != "erin" || !slices.Equal(w.Roles, want) {
		t.Fatalf("whoami = %d %+v, want erin with %v", status, w, want)
	}
	// Logout ends the session, as for a password login.
	var csrf string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == CSRFCookie {
			csrf = ck.Value
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", h.url+Prefix+"/logout", nil)
	req.Header.Set(CSRFHeader, csrf)
	lres, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lres.Body.Close()
	if _, status := whoami(t, c, h.url); lres.StatusCode != http.StatusNoContent || status != http.StatusUnauthorized {
		t.Fatalf("logout = %d, then whoami = %d; want 204, 401", lres.StatusCode, status)
	}
}

// startManually starts a sign-in and returns the provider's authorization
// URL, not followed.
func startManually(t *testing.T, c *http.Client, h *harness) *url.URL {
	t.Helper()
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, body := get(t, &noFollow, h.url+Prefix+"/sso/idp/start")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start = %d %s", res.StatusCode, body)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorization URL %s lacks PKCE S256, nonce or state", u)
	}
	return u
}

func TestOIDCRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*sso.OIDCConfig)
		// tamper changes the authorization URL, or the callback URL, of
		// the provider's answer.
		tamperAuth, tamperCallback func(url.Values)
		status                     int
	}{
		{name: "nothing changed: the control", status: http.StatusSeeOther},
		{name: "a state that is not the browser's", tamperCallback: func(q url.Values) { q.Set("state", "forged") }, status: http.StatusUnauthorized},
		{name: "an ID token with another sign-in's nonce", tamperAuth: func(q url.Values) { q.Set("nonce", "another-nonce") }, status: http.StatusUnauthorized},
		{name: "a code redeemed without its PKCE verifier", tamperAuth: func(q url.Values) { q.Set("code_challenge", otherFirst(q.Get("code_challenge"))) }, status: http.StatusUnauthorized},
		{name: "an ID token for another audience", change: func(c *sso.OIDCConfig) { c.Audience = "another-client" }, status: http.StatusUnauthorized},
		{name: "the provider's error", tamperCallback: func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }, status: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mockOP(t)
			h := oidcHarness(t, m, tc.change)
			m.QueueUser(&mockoidc.MockUser{Subject: "sub-erin", PreferredUsername: "erin", Groups: []string{"payments-devs"}})
			c := browser(t)
			auth := startManually(t, c, h)
			if tc.tamperAuth != nil {
				q := auth.Query()
				tc.tamperAuth(q)
				auth.RawQuery = q.Encode()
			}
			noFollow := *c
			noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			res, body := get(t, &noFollow, auth.String())
			cb, err := url.Parse(res.Header.Get("Location"))
			if err != nil || res.StatusCode != http.StatusFound {
				t.Fatalf("provider answered %d %s", res.StatusCode, body)
			}
			if tc.tamperCallback != nil {
				q := cb.Query()
				tc.tamperCallback(q)
				cb.RawQuery = q.Encode()
			}
			res, body = get(t, c, cb.String())
			if res.StatusCode != tc.status {
				t.Fatalf("callback = %d %s, want %d", res.StatusCode, body, tc.status)
			}
			want := http.StatusUnauthorized
			if tc.status == http.StatusSeeOther {
				want = http.StatusOK
			}
			if _, status := whoami(t, c, h.url); status != want {
				t.Fatalf("after the callback whoami = %d, want %d", status, want)
			}
		})
	}
}

func TestOIDCExpiredTokenIsRefused(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	m.FastForward(-2 * time.Hour) // the provider signs tokens that expired an hour ago
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-erin", PreferredUsername: "erin", Groups: []string{"payments-devs"}})
	c := browser(t)
	res, body := get(t, c, h.url+Prefix+"/sso/idp/start")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired ID token: %d %s, want 401", res.StatusCode, body)
	}
}

func TestOIDCStateIsUsedOnce(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-erin", PreferredUsername: "erin"})
	c := browser(t)
	auth := startManually(t, c, h)
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, _ := get(t, &noFollow, auth.String())
	cb := res.Header.Get("Location")
	if res, body := get(t, c, cb); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback = %d %s", res.StatusCode, body)
	}
	// A replay, even with the state cookie put back, finds no pending sign-in.
	u, _ := url.Parse(h.url + Prefix + "/sso/")
	state, _ := url.Parse(cb)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: SSOStateCookie, Value: state.Query().Get("state"), Path: Prefix + "/sso/"}})
	if res, body := get(t, c, cb); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed callback = %d %s, want 401", res.StatusCode, body)
	}
}

func TestOIDCCannotTakeOverALocalUser(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-evil", PreferredUsername: "admin", Groups: []string{"payments-devs"}})
	c := browser(t)
	if res, body := get(t, c, h.url+Prefix+"/sso/idp/start"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an OIDC admin = %d %s, want 401: admin is the local break-glass account", res.StatusCode, body)
	}
}

func TestUnknownProviderIsNotFound(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	if res, _ := get(t, browser(t), h.url+Prefix+"/sso/nobody/start"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown provider = %d, want 404", res.StatusCode)
	}
}

func TestGroupBindingsArePlatformAdminsOnly(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	admin := h.login()
	// A tenant admin of bank may not create bindings: they can grant any
	// role anywhere.
	if res := h.call(admin, "POST", "/users", apitypes.UserRequest{User: identity.User{Name: "tina"}, Password: "tina-password-long"}); res.status != http.StatusCreated {
		t.Fatalf("create tina: %d %s", res.status, res.body)
	}
	if res := h.call(admin, "POST", "/tenants/bank/members", tenancy.Member{User: "tina", Role: tenancy.TenantAdmin}); res.status != http.StatusCreated {
		t.Fatalf("grant tina: %d %s", res.status, res.body)
	}
	res := h.call("", "POST", "/login", apitypes.LoginRequest{Username: "tina", Password: "tina-password-long", Token: &apitypes.TokenRequest{Name: "t"}})
	var lr apitypes.LoginResponse
	res.decode(t, &lr)
	b := sso.GroupBinding{Name: "tina-admins", Provider: "idp", Group: "x", Role: tenancy.PlatformAdmin}
	if res := h.call(lr.Token, "POST", "/group-bindings", b); res.status != http.StatusForbidden {
		t.Fatalf("tenant admin creates a binding: %d %s, want 403", res.status, res.body)
	}
	bad := sso.GroupBinding{Name: "bad", Provider: "nobody", Group: "", Role: "king"}
	res = h.call(admin, "POST", "/group-bindings", bad)
	fields := map[string]bool{}
	for _, f := range res.errorBody(t).Fields {
		fields[f.Path] = true
	}
	if res.status != http.StatusUnprocessableEntity || !fields["provider"] || !fields["group"] || !fields["role"] {
		t.Fatalf("bad binding = %d %s, want field errors at provider, group and role", res.status, res.body)
	}
	list := h.call(admin, "GET", "/group-bindings", nil)
	if list.status != http.StatusOK || !strings.Contains(string(list.body), `"pay-devs"`) {
		t.Fatalf("list = %d %s", list.status, list.body)
	}
	if res := h.call(admin, "DELETE", "/group-bindings/pay-devs", nil); res.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", res.status, res.body)
	}
}

func TestDirectoryLoginThroughThePasswordRoute(t *testing.T) {
	s := slapdtest.Start(t)
	s.Seed()
	pw := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(pw, []byte("reader-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := sso.DirectoryConfig{Name: "corp", URL: s.URL, StartTLS: true, CAFile: s.CAFile,
		BindDN: "cn=reader," + slapdtest.Suffix, BindPasswordFile: pw, UserBaseDN: "ou=people," + slapdtest.Suffix,
		UserFilter: "(uid={username})", Groups: sso.GroupsConfig{Mode: sso.GroupsSearch, BaseDN: "ou=groups," + slapdtest.Suffix, Nested: sso.NestedSearch},
	}.WithDefaults()
	d, err := ldap.New(cfg, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	h := ssoHarness(t, []sso.ProviderInfo{{Name: "corp", Kind: sso.KindLDAP}}, []sso.PasswordDirectory{d}, nil)
	h.bind(sso.GroupBinding{Name: "bank-viewers", Provider: "corp", Group: slapdtest.GroupDN("bank"), Role: tenancy.Viewer, Scope: tenancy.Scope{Tenant: "bank"}})
	for _, tc := range []struct {
		name string
		req  apitypes.LoginRequest
		want int
	}{
		{"the directory named", apitypes.LoginRequest{Username: "alice", Password: "alice-password", Directory: "corp"}, http.StatusOK},
		{"no directory named: local first, then the directories", apitypes.LoginRequest{Username: "alice", Password: "alice-password"}, http.StatusOK},
		{"a wrong password", apitypes.LoginRequest{Username: "bob", Password: "wrong", Directory: "corp"}, http.StatusUnauthorized},
		{"an empty password", apitypes.LoginRequest{Username: "bob", Directory: "corp"}, http.StatusUnauthorized},
		{"an unknown directory", apitypes.LoginRequest{Username: "bob", Password: "bob-password", Directory: "nowhere"}, http.StatusUnprocessableEntity},
		{"the local admin", apitypes.LoginRequest{Username: identity.AdminUser, Password: adminPassword}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.call("", "POST", "/login", tc.req)
			if res.status != tc.want {
				t.Fatalf("login = %d %s, want %d", res.status, res.body, tc.want)
			}
		})
	}
	res := h.call("", "POST", "/login", apitypes.LoginRequest{Username: "alice", Password: "alice-password", Directory: "corp"})
	var lr apitypes.LoginResponse
	res.decode(t, &lr)
	if want := []authz.Binding{{Role: authz.Viewer, Scope: authz.Scope{Tenant: "bank"}}}; !slices.Equal(lr.Roles, want) {
		t.Fatalf("alice's roles = %v, want %v", lr.Roles, want)
	}
}

func TestGroupBindingsApplyAsManifests(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	admin := h.login()
	doc := func(role string) string {
		return "apiVersion: berth.dev/v1\nkind: GroupBinding\nmetadata: {name: pay-ops, tenant: bank, project: pay}\n" +
			"spec: {provider: idp, group: payments-ops, role: " + role + "}\n"
	}
	for _, step := range []struct{ role, action string }{{"operator", "created"}, {"operator", "unchanged"}, {"release-manager", "updated"}} {
		res := h.call(admin, "POST", "/apply", doc(step.role))
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `"`+step.action+`"`) {
			t.Fatalf("apply %s = %d %s, want %s", step.role, res.status, res.body, step.action)
		}
	}
	var b sso.GroupBinding
	h.call(admin, "GET", "/group-bindings/pay-ops", nil).decode(t, &b)
	if b.Role != tenancy.ReleaseManager || b.Scope != (tenancy.Scope{Tenant: "bank", Project: "pay"}) || b.ResourceVersion != 2 {
		t.Fatalf("binding = %+v", b)
	}
	res := h.call(admin, "POST", "/apply", strings.Replace(doc("operator"), "provider: idp", "provider: nobody", 1))
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(string(res.body), "spec.provider") {
		t.Fatalf("apply with an unknown provider = %d %s, want 422 at spec.provider", res.status, res.body)
	}
}

// TestOIDCKeyRotationAndForgedTokens: a provider that rotates its signing
// key is followed (the new key is fetched when a token names it); a token
// signed by a key the provider does not publish is refused.
func TestOIDCKeyRotationAndForgedTokens(t *testing.T) {
	var mu sync.Mutex
	pinned := false // serve the first key's JWKS whatever key signs
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	first := m.Keypair
	err = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if pinned && r.URL.Path == mockoidc.JWKSEndpoint {
				b, _ := first.JWKS()
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(b)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	h := oidcHarness(t, m, nil)
	signIn := func() int {
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-erin", PreferredUsername: "erin", Groups: []string{"payments-devs"}})
		res, _ := get(t, browser(t), h.url+Prefix+"/sso/idp/start")
		return res.StatusCode
	}
	rotate := func(pin bool) {
		kp, err := mockoidc.RandomKeypair(2048)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		m.Keypair, pinned = kp, pin
		mu.Unlock()
	}
	if got := signIn(); got != http.StatusSeeOther {
		t.Fatalf("first key: %d, want 303", got)
	}
	rotate(false)
	if got := signIn(); got != http.StatusSeeOther {
		t.Fatalf("after the provider rotated its key: %d, want 303", got)
	}
	rotate(true)
	if got := signIn(); got != http.StatusUnauthorized {
		t.Fatalf("a token signed by an unpublished key: %d, want 401", got)
	}
}

func TestOIDCProviderAnsweringForAnotherIssuerIsRefused(t *testing.T) {
	m := mockOP(t)
	// The same provider reached under another name: its discovery document
	// names the issuer it signs as, which is not the one configured.
	h := oidcHarness(t, m, func(c *sso.OIDCConfig) { c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1) })
	c := browser(t)
	if res, body := get(t, c, h.url+Prefix+"/sso/idp/start"); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("start against a provider of another issuer = %d %s, want 503", res.StatusCode, body)
	}
	if _, status := whoami(t, c, h.url); status != http.StatusUnauthorized {
		t.Fatalf("whoami = %d, want 401", status)
	}
}

// TestCLISignInIsRedeemedOnceWithItsVerifier: a sign-in for the CLI ends
// in a redirect to the CLI's loopback address with a one-time code, which
// only the CLI's verifier redeems, once, for a token with the mapped roles.
func TestCLISignInIsRedeemedOnceWithItsVerifier(t *testing.T) {
	m := mockOP(t)
	h := oidcHarness(t, m, nil)
	verifier := "cli-verifier-0123456789-0123456789-0123456789"
	loopback := "http://127.0.0.1:41111/callback"
	begin := func() string {
		t.Helper()
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-fay", Email: "fay@bank.test", PreferredUsername: "fay", Groups: []string{"payments-devs"}})
		c := browser(t)
		c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == "127.0.0.1:41111" {
				return http.ErrUseLastResponse
			}
			return nil
		}
		res, body := get(t, c, h.url+Prefix+"/sso/idp/start?"+url.Values{"cli": {loopback}, "challenge": {sso.Challenge(verifier)}}.Encode())
		to, err := url.Parse(res.Header.Get("Location"))
		if res.StatusCode != http.StatusSeeOther || err != nil || "http://"+to.Host+to.Path != loopback || to.Query().Get("code") == "" {
			t.Fatalf("a CLI sign-in ended with %d %s (Location %q), want 303 to %s with a code", res.StatusCode, body, res.Header.Get("Location"), loopback)
		}
		if u, _ := url.Parse(h.url); slices.ContainsFunc(c.Jar.Cookies(u), func(ck *http.Cookie) bool { return ck.Name == SessionCookie }) {
			t.Fatal("a CLI sign-in opened a console session in the browser")
		}
		return to.Query().Get("code")
	}
	redeem := func(code, verifier string) response {
		return h.call("", "POST", "/sso/token", apitypes.SSOTokenRequest{Code: code, Verifier: verifier, Token: apitypes.TokenRequest{Name: "cli-laptop"}})
	}

	code := begin()
	if res := redeem(code, "a-guessed-verifier"); res.status != http.StatusUnauthorized {
		t.Fatalf("redeem with a wrong verifier = %d %s, want 401", res.status, res.body)
	}
	if res := redeem(code, verifier); res.status != http.StatusUnauthorized {
		t.Fatalf("redeem after a wrong verifier spent the code = %d %s, want 401", res.status, res.body)
	}

	code = begin()
	res := redeem(code, verifier)
	var lr apitypes.LoginResponse
	res.decode(t, &lr)
	want := []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "bank", Project: "pay"}}}
	if res.status != http.StatusOK || lr.Token == "" || lr.User.Name != "fay" || !slices.Equal(lr.Roles, want) {
		t.Fatalf("redeem = %d %s, want fay's token with %v", res.status, res.body, want)
	}
	if limit := time.Now().Add(12*time.Hour + time.Minute); lr.ExpiresAt.After(limit) {
		t.Errorf("the CLI's token expires %s, after a console session would (%s)", lr.ExpiresAt, limit)
	}
	var w apitypes.WhoAmI
	h.call(lr.Token, "GET", "/whoami", nil).decode(t, &w)
	if w.User.Name != "fay" {
		t.Fatalf("whoami with the CLI's token = %+v", w)
	}
	if res := redeem(code, verifier); res.status != http.StatusUnauthorized {
		t.Fatalf("a code redeemed twice = %d %s, want 401", res.status, res.body)
	}

	// Only a loopback address and a real challenge start a CLI sign-in.
	c := browser(t)
	bad, body := get(t, c, h.url+Prefix+"/sso/idp/start?"+url.Values{"cli": {"http://evil.example:8085/cb"}, "challenge": {"short"}}.Encode())
	var e apitypes.ErrorBody
	if err := json.Unmarshal(body, &e); err != nil || bad.StatusCode != http.StatusUnprocessableEntity || len(e.Fields) != 2 || e.Fields[0].Path != "cli" || e.Fields[1].Path != "challenge" {
		t.Fatalf("start with a remote address = %d %s, want 422 naming cli and challenge", bad.StatusCode, body)
	}
	if res := h.call("", "POST", "/sso/token", map[string]any{"token": map[string]any{"name": "x"}}); res.status != http.StatusUnprocessableEntity ||
		!strings.Contains(string(res.body), `"code"`) || !strings.Contains(string(res.body), `"verifier"`) {
		t.Fatalf("redeem without code and verifier = %d %s, want 422 naming both", res.status, res.body)
	}
	// Both sign-ins in the browser and the one token are in the audit trail.
	admin := h.login()
	var page apitypes.List[audit.Record]
	h.must(http.StatusOK, admin, "GET", "/audit?action=user.sign-in&actor=fay", nil).decode(t, &page)
	var granted int
	for _, r := range page.Items {
		if strings.Contains(r.Summary, "for the CLI") && r.Outcome == audit.Success {
			granted++
		}
	}
	h.must(http.StatusOK, admin, "GET", "/audit?action=user.login&actor=fay", nil).decode(t, &page)
	if granted != 2 || len(page.Items) != 1 || !strings.Contains(page.Items[0].Summary, `"cli-laptop"`) {
		t.Fatalf("audit: %d CLI sign-ins and logins %+v; want 2 and one token cli-laptop", granted, page.Items)
	}
}

// overageUser is a person with too many groups for the provider's ID
// token: it sends a distributed-claim pointer instead of the groups (as
// Entra ID does), while its UserInfo lists them.
type overageUser struct{ *mockoidc.MockUser }

func (u overageUser) Claims(scope []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &struct {
		*mockoidc.IDTokenClaims
		PreferredUsername string                       `json:"preferred_username"`
		ClaimNames        map[string]string            `json:"_claim_names"`
		ClaimSources      map[string]map[string]string `json:"_claim_sources"`
	}{base, u.PreferredUsername, map[string]string{"groups": "src1"},
		map[string]map[string]string{"src1": {"endpoint": "https://graph.example/v1.0/users/" + u.Subject + "/getMemberObjects"}}}, nil
}

// TestOIDCGroupsOverage: an ID token that leaves the groups out is refused
// by default, rather than signing in with no groups (which would revoke
// what they grant); with groupsOverage: userinfo the groups come from the
// provider's UserInfo endpoint and map as usual.
func TestOIDCGroupsOverage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		overage string
		status  int
		roles   []authz.Binding
	}{
		{"refused by default", "", http.StatusUnauthorized, nil},
		{"read from userinfo", sso.OverageUserInfo, http.StatusSeeOther,
			[]authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "bank", Project: "pay"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mockOP(t)
			h := oidcHarness(t, m, func(c *sso.OIDCConfig) { c.GroupsOverage = tc.overage })
			m.QueueUser(overageUser{&mockoidc.MockUser{Subject: "sub-gus", PreferredUsername: "gus", Groups: []string{"payments-devs"}}})
			c := browser(t)
			res, body := get(t, c, h.url+Prefix+"/sso/idp/start")
			if res.StatusCode != tc.status {
				t.Fatalf("sign-in = %d %s, want %d", res.StatusCode, body, tc.status)
			}
			if tc.roles == nil {
				return
			}
			w, status := whoami(t, c, h.url)
			if status != http.StatusOK || w.User.Name != "gus" || !slices.Equal(w.Roles, tc.roles) {
				t.Fatalf("whoami = %d %+v, want gus with %v", status, w, tc.roles)
			}
		})
	}
}

// otherFirst is s with its first character replaced by another one (always
// a different one: a fixed replacement left one challenge in 64 unchanged).
func otherFirst(s string) string {
	if s[0] == 'x' {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}
