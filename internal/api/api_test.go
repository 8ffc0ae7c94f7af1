package api

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestLoginOpensASessionWithCSRFProtection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	r := h.must(http.StatusOK, "", "POST", "/login", apitypes.LoginRequest{Username: "admin", Password: adminPassword})
	var lr apitypes.LoginResponse
	r.decode(t, &lr)
	var session, csrf *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		switch c.Name {
		case SessionCookie:
			session = c
		case CSRFCookie:
			csrf = c
		}
	}
	if session == nil || csrf == nil {
		t.Fatalf("login set cookies %v, want %s and %s", r.header["Set-Cookie"], SessionCookie, CSRFCookie)
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure {
		t.Errorf("session cookie HttpOnly=%v SameSite=%v Secure=%v, want HttpOnly, Strict, not Secure over plain HTTP",
			session.HttpOnly, session.SameSite, session.Secure)
	}
	if csrf.Value != lr.CSRFToken || lr.Token != "" {
		t.Errorf("csrf cookie %q, body token %q and API token %q: want the cookie echoed in the body and no API token", csrf.Value, lr.CSRFToken, lr.Token)
	}
	cookies := SessionCookie + "=" + session.Value + "; " + CSRFCookie + "=" + csrf.Value
	tests := []struct {
		name    string
		method  string
		headers []string
		want    int
	}{
		{"a cookie read needs no CSRF token", "GET", nil, http.StatusOK},
		{"a cookie change without the CSRF header is refused", "POST", nil, http.StatusForbidden},
		{"a cookie change with a wrong CSRF header is refused", "POST", []string{CSRFHeader, "forged"}, http.StatusForbidden},
		{"a cookie change with the CSRF header succeeds", "POST", []string{CSRFHeader, csrf.Value}, http.StatusCreated},
	}
	for _, tt := range tests {
		var body any
		if tt.method == "POST" {
			body = map[string]string{"name": "t-" + strings.ToLower(strings.ReplaceAll(tt.name[:10], " ", "-"))}
		}
		got := h.call("", tt.method, "/tenants", body, append([]string{"Cookie", cookies}, tt.headers...)...)
		if got.status != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, got.status, tt.want, got.body)
		}
	}
	if r := h.call("", "POST", "/logout", nil, "Cookie", cookies, CSRFHeader, csrf.Value); r.status != http.StatusNoContent {
		t.Fatalf("logout: status %d: %s", r.status, r.body)
	}
	if r := h.call("", "GET", "/tenants", nil, "Cookie", cookies); r.status != http.StatusUnauthorized {
		t.Errorf("the session after logout: status %d, want 401", r.status)
	}
}

func TestLoginFailuresAreRateLimitedAndAudited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	bad := apitypes.LoginRequest{Username: "admin", Password: "wrong-password!"}
	for range 3 {
		r := h.must(http.StatusUnauthorized, "", "POST", "/login", bad)
		if e := r.errorBody(t); e.Code != "invalid_credentials" {
			t.Fatalf("code %q, want invalid_credentials", e.Code)
		}
	}
	r := h.must(http.StatusTooManyRequests, "", "POST", "/login", apitypes.LoginRequest{Username: "admin", Password: adminPassword})
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	h.clock.Advance(time.Minute)
	tok := h.token("admin", adminPassword)

	var page apitypes.List[audit.Record]
	h.must(http.StatusOK, tok, "GET", "/audit?action=user.login", nil).decode(t, &page)
	var outcomes []audit.Outcome
	for _, rec := range page.Items {
		outcomes = append(outcomes, rec.Outcome)
	}
	// The first refusal is recorded at once, the other three (two wrong
	// passwords, one refused by the limit) in one aggregate written when
	// the next attempt came after the window.
	want := []audit.Outcome{audit.Success, audit.Denied, audit.Denied}
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Fatalf("login audit outcomes, newest first (-want +got):\n%s", diff)
	}
	if got := page.Items[1].Summary; !strings.HasPrefix(got, "3 more refused logins from 127.0.0.1 for user(s) admin between ") {
		t.Errorf("aggregate summary %q", got)
	}
}

func TestErrorsCarryCodeFieldsAndRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		lang       string
		wantStatus int
		want       apitypes.ErrorBody
	}{
		{"a bad name is a field error", "POST", "/tenants", map[string]string{"name": "Bad_Name"}, "", 422,
			apitypes.ErrorBody{Code: "validation_failed", Message: "Some fields are invalid.", Fields: []resource.FieldError{{Path: "name",
				Reason: `must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit), got "Bad_Name"`}}}},
		{"an unknown field is a field error", "POST", "/tenants", map[string]string{"name": "a", "nmae": "b"}, "", 422,
			apitypes.ErrorBody{Code: "validation_failed", Message: "Some fields are invalid.", Fields: []resource.FieldError{{Path: "nmae", Reason: "unknown field"}}}},
		{"a missing object is not found, in Chinese when asked", "GET", "/tenants/ghost", nil, "zh-CN,zh;q=0.9", 404,
			apitypes.ErrorBody{Code: "not_found", Message: "未找到。"}},
		{"an unknown path is not found", "GET", "/nowhere", nil, "", 404, apitypes.ErrorBody{Code: "not_found", Message: "Not found."}},
		{"another method on a known path is not allowed", "PATCH", "/tenants/bank", nil, "", 405,
			apitypes.ErrorBody{Code: "method_not_allowed", Message: "Method not allowed."}},
		{"a body over the limit is refused", "POST", "/tenants", map[string]string{"name": "a", "description": strings.Repeat("x", MaxBody)}, "", 413,
			apitypes.ErrorBody{Code: "payload_too_large", Message: "The request body is too large."}},
		{"a stale update is a conflict", "PUT", "/tenants/bank", map[string]any{"resourceVersion": 7}, "", 409,
			apitypes.ErrorBody{Code: "conflict", Message: "The object changed since you read it; reload and retry."}},
	}
	h.must(http.StatusCreated, tok, "POST", "/tenants", map[string]string{"name": "bank"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.call(tok, tt.method, tt.path, tt.body, "Accept-Language", tt.lang)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			got := r.errorBody(t)
			if got.RequestID == "" || got.RequestID != r.header.Get("X-Request-Id") {
				t.Errorf("request ID %q in body, %q in header: want the same, not empty", got.RequestID, r.header.Get("X-Request-Id"))
			}
			got.RequestID = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListsPaginate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	var want []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		h.must(http.StatusCreated, tok, "POST", "/tenants", map[string]string{"name": n})
		want = append(want, n)
	}
	var got []string
	next := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var page apitypes.List[struct{ Name string }]
		h.must(http.StatusOK, tok, "GET", "/tenants?limit=2&continue="+next, nil).decode(t, &page)
		if len(page.Items) > 2 {
			t.Fatalf("page of %d items, want at most 2", len(page.Items))
		}
		for _, it := range page.Items {
			got = append(got, it.Name)
		}
		if page.Continue == "" {
			break
		}
		next = page.Continue
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tenants over all pages (-want +got):\n%s", diff)
	}
}

const quotaManifest = `apiVersion: berth.dev/v1
kind: ResourceTier
metadata: {name: small}
spec: {requests: {cpu: 500m, memory: 512Mi}, capacity: "~100 TPS"}
---
apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
---
apiVersion: berth.dev/v1
kind: Quota
metadata: {tenant: bank}
spec: {hard: {cpu: "1"}}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
`

func TestQuotaRefusalsNameTheNumbers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	h.must(http.StatusOK, tok, "POST", "/apply", quotaManifest)
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/projects/pay/applications", map[string]string{"name": "red-auth"})
	version := map[string]any{"name": "v1", "image": "registry.local/red-auth:1", "tier": "small", "orchestration": map[string]any{"replicas": 3}}
	r := h.must(http.StatusUnprocessableEntity, tok, "POST", "/tenants/bank/projects/pay/applications/red-auth/versions?activate=true", version)
	e := r.errorBody(t)
	if e.Code != "quota_exceeded" || !strings.Contains(e.Message, "1500m") || !strings.Contains(e.Message, "limit 1") {
		t.Errorf("error %+v: want quota_exceeded naming 1500m requested and limit 1", e)
	}
	var u struct{ Used, Hard resource.List }
	h.must(http.StatusOK, tok, "GET", "/tenants/bank/quota", nil).decode(t, &u)
	if u.Used[resource.CPU] != 0 || u.Hard[resource.CPU] != resource.Units(1) {
		t.Errorf("usage %+v after the refusal, want nothing used of 1 CPU", u)
	}
}

func TestApplyIsAllOrNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	bad := quotaManifest + `---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: red-auth, tenant: bank, project: pay}
spec:
  version: {name: v1, image: "registry.local/red-auth:1", tier: large, orchestration: {replicas: 1}}
`
	r := h.must(http.StatusUnprocessableEntity, tok, "POST", "/apply", bad)
	want := []resource.FieldError{{Path: "document 5 (Application red-auth): spec.version.tier", Reason: `unknown tier "large"`}}
	if diff := cmp.Diff(want, r.errorBody(t).Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	h.must(http.StatusNotFound, tok, "GET", "/tenants/bank", nil)
	h.must(http.StatusNotFound, tok, "GET", "/tiers/small", nil)

	good := strings.Replace(bad, "tier: large", "tier: small", 1)
	var res apitypes.ApplyResult
	h.must(http.StatusOK, tok, "POST", "/apply", good).decode(t, &res)
	var actions []string
	for _, o := range res.Objects {
		actions = append(actions, string(o.Kind)+" "+o.Name+" "+o.Action)
	}
	wantActions := []string{"ResourceTier small created", "Tenant bank created", "Project pay created", "Quota bank/ created", "Application red-auth created"}
	if diff := cmp.Diff(wantActions, actions); diff != "" {
		t.Errorf("apply (-want +got):\n%s", diff)
	}
	h.must(http.StatusOK, tok, "POST", "/apply", good).decode(t, &res)
	if a := res.Objects[len(res.Objects)-1].Action; a != "unchanged" {
		t.Errorf("re-applying the application: %s, want unchanged", a)
	}
	r = h.must(http.StatusUnprocessableEntity, tok, "POST", "/apply", "apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: x}\nspec: {replicass: 1}\n")
	want = []resource.FieldError{{Path: "document 1 (Tenant x): spec.replicass", Reason: "unknown field"}}
	if diff := cmp.Diff(want, r.errorBody(t).Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestOpenAPIDocumentIsGoldenAndComplete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	got := h.must(http.StatusOK, "", "GET", "/openapi.json", nil).body
	golden := filepath.Join("testdata", "openapi.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/api -run OpenAPI -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("openapi.json differs from %s; review and run with -update (-want +got):\n%s", golden, diff)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	slices.Sort(documented)
	if diff := cmp.Diff(h.api.routeKeys(), documented); diff != "" {
		t.Errorf("registered routes vs documented operations (-registered +documented):\n%s", diff)
	}
}

func TestUsersChangeTheirOwnPasswordOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	for _, u := range []string{"ann", "bob"} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": u, "password": "first-password-" + u})
	}
	ann := h.token("ann", "first-password-ann")
	h.must(http.StatusForbidden, ann, "PUT", "/users/bob/password", map[string]string{"password": "taken-over-password"})
	h.must(http.StatusNoContent, ann, "PUT", "/users/ann/password", map[string]string{"password": "second-password-ann", "currentPassword": "first-password-ann"})
	h.must(http.StatusUnauthorized, "", "POST", "/login", apitypes.LoginRequest{Username: "ann", Password: "first-password-ann", Token: &apitypes.TokenRequest{Name: "x"}})
	h.token("ann", "second-password-ann")
	h.token("bob", "first-password-bob")
}

func TestRefusedChangesAreAuditedAsDenied(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "bank"})
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "vic", "password": "viewer-password"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/members", map[string]string{"user": "vic", "role": "viewer"})
	vic := h.token("vic", "viewer-password")
	h.must(http.StatusForbidden, vic, "POST", "/tenants/bank/projects", map[string]string{"name": "sneaky"})
	var page apitypes.List[audit.Record]
	h.must(http.StatusOK, admin, "GET", "/audit?actor=vic&action=project.create", nil).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].Outcome != audit.Denied || page.Items[0].Tenant != "bank" {
		t.Fatalf("audit of the refused change: %+v, want one denied record in tenant bank", page.Items)
	}
	if diff := cmp.Diff([]string{"viewer@tenant/bank"}, page.Items[0].Roles); diff != "" {
		t.Errorf("roles in the record (-want +got):\n%s", diff)
	}
}

func TestLoginFailuresFromOneAddressAreLimitedAcrossUsers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t)) // 10 failures per address per minute
	for i := range 10 {
		h.must(http.StatusUnauthorized, "", "POST", "/login", apitypes.LoginRequest{Username: fmt.Sprintf("guess%d", i), Password: "nope-nope-nope"})
	}
	r := h.must(http.StatusTooManyRequests, "", "POST", "/login", apitypes.LoginRequest{Username: "admin", Password: adminPassword})
	if got := r.errorBody(t).Code; got != "too_many_requests" {
		t.Errorf("code %q, want too_many_requests", got)
	}
}

func TestApplyChecksEveryDocumentsPermissions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	h.must(http.StatusOK, admin, "POST", "/apply", quotaManifest)
	h.must(http.StatusOK, admin, "POST", "/apply", "apiVersion: berth.dev/v1\nkind: Quota\nmetadata: {tenant: bank}\nspec: {hard: {cpu: \"8\"}}\n")
	for _, u := range []struct{ name, role string }{{"rm", "release-manager"}, {"dev", "developer"}} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": u.name, "password": "password-of-" + u.name})
		h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/pay/members", map[string]string{"user": u.name, "role": u.role})
	}
	app := "apiVersion: berth.dev/v1\nkind: Application\nmetadata: {name: red-auth, tenant: bank, project: pay}\n" +
		"spec: {version: {name: v1, image: \"registry.local/red-auth:1\", tier: small, orchestration: {replicas: 1}}}\n"
	tests := []struct {
		name, user, manifest string
		want                 int
	}{
		{"a release manager cannot create an application", "rm", app, http.StatusForbidden},
		{"a developer cannot set the tenant's quota", "dev", app + "---\napiVersion: berth.dev/v1\nkind: Quota\nmetadata: {tenant: bank}\nspec: {hard: {cpu: \"99\"}}\n", http.StatusForbidden},
		{"a developer creates an application with its version", "dev", app, http.StatusOK},
	}
	for _, tt := range tests {
		tok := h.token(tt.user, "password-of-"+tt.user)
		if r := h.call(tok, "POST", "/apply", tt.manifest); r.status != tt.want {
			t.Errorf("%s: status %d, want %d: %s", tt.name, r.status, tt.want, r.body)
		}
	}
	var u struct{ Hard resource.List }
	h.must(http.StatusOK, admin, "GET", "/tenants/bank/quota", nil).decode(t, &u)
	if u.Hard[resource.CPU] != resource.Units(8) {
		t.Errorf("tenant quota %v after a refused apply, want 8 CPUs", u.Hard)
	}
}

func TestAnOlderVersionCanBeRedeployed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	h.must(http.StatusOK, tok, "POST", "/apply", quotaManifest)
	base := "/tenants/bank/projects/pay/applications/red-auth"
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/projects/pay/applications", map[string]string{"name": "red-auth"})
	for _, v := range []string{"v1", "v2"} {
		body := map[string]any{"name": v, "image": "registry.local/red-auth:" + v, "tier": "small", "orchestration": map[string]any{"replicas": 1}}
		h.must(http.StatusCreated, tok, "POST", base+"/versions?activate=true", body)
	}
	var app struct{ CurrentVersion string }
	h.must(http.StatusOK, tok, "PUT", base+"/current-version", apitypes.CurrentVersion{Version: "v1"}).decode(t, &app)
	if app.CurrentVersion != "v1" {
		t.Errorf("current version %q after re-deploying v1", app.CurrentVersion)
	}
	h.must(http.StatusNotFound, tok, "PUT", base+"/current-version", apitypes.CurrentVersion{Version: "v9"})
	var u struct{ Used resource.List }
	h.must(http.StatusOK, tok, "GET", "/tenants/bank/projects/pay/quota", nil).decode(t, &u)
	if u.Used[resource.CPU] != resource.MilliUnits(500) {
		t.Errorf("project uses %v CPU with one replica of tier small, want 500m", u.Used[resource.CPU])
	}
}

// TestEveryReferencedSchemaIsDefined: each request and response a route
// names (inside List[...] too) is a schema of the OpenAPI document.
func TestEveryReferencedSchemaIsDefined(t *testing.T) {
	h := newHarness(t, storetest.SQLite(t))
	for _, rt := range h.api.Routes() {
		for _, name := range []string{rt.Request, rt.Response} {
			name = strings.TrimSuffix(strings.TrimPrefix(name, "List["), "]")
			if name == "" || name == "none" || name == "OpenAPI" || name == "Manifest" || name == "AuditExport" || name == "LiveEvents" ||
				name == "TerminalRecording" || name == "TerminalSocket" { // not JSON
				continue
			}
			if _, ok := schemaTypes[name]; !ok {
				t.Errorf("%s %s refers to schema %s, which the document does not define", rt.Method, rt.Path, name)
			}
		}
	}
}

// A role binding for a user Berth does not know is refused, naming the
// field, by the API and by apply; nothing is written.
func TestMemberOfAnUnknownUserIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	tok := h.token("admin", adminPassword)
	h.must(http.StatusCreated, tok, "POST", "/tenants", map[string]string{"name": "bank"})
	r := h.must(http.StatusUnprocessableEntity, tok, "POST", "/tenants/bank/members", map[string]string{"user": "ghost", "role": "viewer"})
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "user" || !strings.Contains(f[0].Reason, `no user "ghost"`) {
		t.Errorf("fields %+v: want user named as unknown", f)
	}
	r = h.must(http.StatusUnprocessableEntity, tok, "POST", "/apply",
		"apiVersion: berth.dev/v1\nkind: Member\nmetadata: {tenant: bank}\nspec: {user: ghost, role: viewer}\n")
	if f := r.errorBody(t).Fields; len(f) != 1 || !strings.HasSuffix(f[0].Path, "spec.user") {
		t.Errorf("apply fields %+v: want spec.user named", f)
	}
	var page struct{ Items []json.RawMessage }
	h.must(http.StatusOK, tok, "GET", "/tenants/bank/members", nil).decode(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("members after the refusals: %+v, want none", page.Items)
	}
	h.must(http.StatusCreated, tok, "POST", "/users", map[string]string{"name": "ghost", "password": "now-a-real-user"})
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/members", map[string]string{"user": "ghost", "role": "viewer"})
}

// A project's auditor reads that project's trail and nothing else; a
// project filter needs its tenant.
func TestProjectAuditorReadsOnlyItsProject(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "bank"})
	for _, p := range []string{"pay", "card"} {
		h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects", map[string]string{"name": p})
		h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/"+p+"/applications", map[string]string{"name": "app-" + p})
	}
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "pia", "password": "pay-auditor-password"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/pay/members", map[string]string{"user": "pia", "role": "auditor"})
	pia := h.token("pia", "pay-auditor-password")

	projects := func(tok, query string) []string {
		t.Helper()
		var page apitypes.List[audit.Record]
		h.must(http.StatusOK, tok, "GET", "/audit"+query, nil).decode(t, &page)
		var got []string
		for _, r := range page.Items {
			got = append(got, r.Tenant+"/"+r.Project+" "+r.Action)
		}
		return got
	}
	for _, q := range []string{"", "?tenant=bank&project=pay"} {
		got := projects(pia, q)
		if len(got) == 0 {
			t.Errorf("%q: the pay auditor sees nothing", q)
		}
		for _, g := range got {
			if !strings.HasPrefix(g, "bank/pay ") {
				t.Errorf("%q: the pay auditor sees %s", q, g)
			}
		}
	}
	h.must(http.StatusForbidden, pia, "GET", "/audit?tenant=bank", nil)
	h.must(http.StatusForbidden, pia, "GET", "/audit?tenant=bank&project=card", nil)
	h.must(http.StatusForbidden, pia, "GET", "/audit/export?format=csv&tenant=bank&project=card", nil)
	if got := projects(admin, "?tenant=bank&project=card"); len(got) != 2 {
		t.Errorf("the platform admin's card trail: %v, want the project and its application", got)
	}
	r := h.must(http.StatusUnprocessableEntity, admin, "GET", "/audit?project=pay", nil)
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "project" {
		t.Errorf("project without tenant: fields %+v, want project named", f)
	}
}
