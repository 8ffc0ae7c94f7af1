package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/tenancy"
)

// TestRoleMatrix calls every route of the API over real HTTP, as every
// role at every level it may be granted and as users holding several
// bindings, on objects of the caller's own project, a sibling project and
// another tenant, and checks each answer against the policy table of
// policy_table_test.go (never against internal/authz). A route missing
// from the matrix fails it. It also checks that no answer names a tenant
// the caller holds nothing in (nor omegabank's objects), that
// refused deletes leave their object in place, and that bad input to a
// refused request is refused the same way.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		new  func(*testing.T) storetest.NewStore
	}{
		{"sqlite", func(t *testing.T) storetest.NewStore { return storetest.SQLite(t) }},
		{"postgres", func(t *testing.T) storetest.NewStore { return storetest.Postgres(t) }},
	}
	for _, db := range stores {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			runMatrix(t, newHarness(t, db.new(t), withDirectory))
		})
	}
}

// The matrix's tenants: the callers' own (alphabank, projects p1 and p2),
// a foreign one whose name no caller bound elsewhere may ever read
// (omegabank, project p1), and a third where users with several bindings
// hold their second one (cedarbank, project p1).
const (
	tenA, tenB, tenC = "alphabank", "omegabank", "cedarbank"
	foreignMark      = "omega"
)

// subject is a user holding some role bindings.
type subject struct {
	name     string
	bindings []authz.Binding
	token    string
}

// matrixSubjects are every role at every level the table says it may be
// granted (platform; tenant alphabank; project alphabank/p1), users with
// several bindings, and a user with none.
func matrixSubjects() []subject {
	at := map[authz.Level]authz.Scope{authz.PlatformLevel: authz.Platform, authz.TenantLevel: authz.TenantScope(tenA),
		authz.ProjectLevel: authz.ProjectScope(tenA, "p1")}
	var out []subject
	for _, r := range tableRoles {
		for _, l := range grantLevels[r] {
			out = append(out, subject{name: fmt.Sprintf("%s-at-%s", r, l), bindings: []authz.Binding{{Role: r, Scope: at[l]}}})
		}
	}
	return append(out,
		subject{name: "viewer-of-a-and-project-admin-in-c", bindings: []authz.Binding{
			{Role: View, Scope: authz.TenantScope(tenA)}, {Role: PrA, Scope: authz.ProjectScope(tenC, "p1")}}},
		subject{name: "viewer-of-a-and-developer-of-a-p2", bindings: []authz.Binding{
			{Role: View, Scope: authz.TenantScope(tenA)}, {Role: Dev, Scope: authz.ProjectScope(tenA, "p2")}}},
		subject{name: "operator-of-a-p1-and-release-manager-of-a-p2", bindings: []authz.Binding{
			{Role: Op, Scope: authz.ProjectScope(tenA, "p1")}, {Role: RM, Scope: authz.ProjectScope(tenA, "p2")}}},
		subject{name: "nobody"},
	)
}

// garbageSubjects also send every refused request again with bad query
// parameters and a bad body: the answer must not change.
var garbageSubjects = []string{"nobody", "tenant-admin-at-tenant", "viewer-at-project"}

// matrixTargets are the objects' scopes at each level.
var matrixTargets = map[authz.Level][]authz.Scope{
	authz.PlatformLevel: {authz.Platform},
	authz.TenantLevel:   {authz.TenantScope(tenA), authz.TenantScope(tenB)},
	authz.ProjectLevel:  {authz.ProjectScope(tenA, "p1"), authz.ProjectScope(tenA, "p2"), authz.ProjectScope(tenB, "p1")},
}

// matrixEnv is the running matrix: the server, the admin, the seeded
// release orders by "tenant/project" (and "tenant/project/gray").
type matrixEnv struct {
	t      *testing.T
	h      *harness
	admin  string
	orders map[string]string
	seq    int
}

// fresh is a name no other call uses.
func (e *matrixEnv) fresh() string {
	e.seq++
	return fmt.Sprintf("m%d", e.seq)
}

// request is one call of a route and what the table expects of it.
type request struct {
	path string
	body any
	// need lists the permissions the call needs, every one at scope;
	// allow replaces that rule where a route has its own.
	need  []authz.Permission
	scope authz.Scope
	allow func(bs []authz.Binding) bool
	// ok lists the statuses an allowed caller may get; nil takes the
	// method's default (GET 200, POST 201, PUT 200 or 409, DELETE 204).
	ok []int
	// survives reports whether the object a refused call acts on is
	// still in place.
	survives func() bool
	// garbage is the bad manifest of the garbage variant of /apply;
	// other routes get broken JSON.
	garbage string
	// inspect checks a successful answer's body.
	inspect func(s *subject, body []byte)
}

// routeCase builds the request of a route for a target at each of levels.
type routeCase struct {
	levels []authz.Level
	build  func(e *matrixEnv, s *subject, target authz.Scope, name string) request
}

func runMatrix(t *testing.T, h *harness) {
	e := &matrixEnv{t: t, h: h, admin: h.token("admin", adminPassword), orders: map[string]string{}}
	seedMatrixTenants(e)
	subjects := matrixSubjects()
	for i := range subjects {
		s := &subjects[i]
		h.must(http.StatusCreated, e.admin, "POST", "/users", map[string]string{"name": s.name, "password": "password-of-" + s.name})
		for _, b := range s.bindings {
			h.must(http.StatusCreated, e.admin, "POST", membersPath(b.Scope), map[string]string{"user": s.name, "role": string(b.Role)})
		}
		s.token = h.token(s.name, "password-of-"+s.name)
	}
	checkRoutesAreDocumented(t, h)

	cases := matrixCases()
	for _, rt := range h.api.Routes() {
		if rt.Public {
			continue // login and the OpenAPI document: no caller to authorize
		}
		key := rt.Method + " " + rt.Path
		if key == "POST /apply" {
			e.runApply(subjects)
			continue
		}
		rc, ok := cases[key]
		if !ok {
			t.Errorf("route %s is not in the role matrix: add it to matrixCases with the permissions the docs give it", key)
			continue
		}
		for _, l := range rc.levels {
			for _, target := range matrixTargets[l] {
				for i := range subjects {
					s := &subjects[i]
					e.check(s, rt.Method, rc.build(e, s, target, e.fresh()))
				}
			}
		}
	}
}

// checkRoutesAreDocumented compares the routes the matrix walks with the
// operations of the OpenAPI document the server serves.
func checkRoutesAreDocumented(t *testing.T, h *harness) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	h.must(http.StatusOK, "", "GET", "/openapi.json", nil).decode(t, &doc)
	var documented, routed []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+strings.TrimPrefix(p, Prefix))
		}
	}
	for _, rt := range h.api.Routes() {
		routed = append(routed, rt.Method+" "+rt.Path)
	}
	slices.Sort(documented)
	slices.Sort(routed)
	if !slices.Equal(documented, routed) {
		t.Errorf("the OpenAPI document's operations %v differ from the routes %v", documented, routed)
	}
}

// allowed is the table's answer for q as bindings.
func (e *matrixEnv) allowed(q request, bs []authz.Binding) bool {
	if q.allow != nil {
		return q.allow(bs)
	}
	for _, p := range q.need {
		if !expect(e.t, bs, p, q.scope) {
			return false
		}
	}
	return len(q.need) > 0
}

func defaultOK(method string) []int {
	switch method {
	case "GET":
		return []int{http.StatusOK}
	case "POST":
		return []int{http.StatusCreated}
	case "PUT":
		return []int{http.StatusOK, http.StatusConflict}
	}
	return []int{http.StatusNoContent}
}

// check makes the call as s and compares the answer with the table.
func (e *matrixEnv) check(s *subject, method string, q request) {
	t := e.t
	t.Helper()
	want := e.allowed(q, s.bindings)
	r := e.h.call(s.token, method, q.path, q.body)
	code := errorCode(r)
	ok := q.ok
	if ok == nil {
		ok = defaultOK(method)
	}
	switch {
	case !want && (r.status != http.StatusForbidden || code != "forbidden"):
		t.Errorf("%s %s as %s: status %d, the table refuses it (want 403 forbidden): %.300s", method, q.path, s.name, r.status, r.body)
	case want && !slices.Contains(ok, r.status):
		t.Errorf("%s %s as %s: status %d, the table allows it (want one of %v): %.300s", method, q.path, s.name, r.status, ok, r.body)
	}
	if !want && q.survives != nil && !q.survives() {
		t.Errorf("%s %s as %s was refused, but its object is gone", method, q.path, s.name)
	}
	for _, name := range foreignNames(s) {
		if bytes.Contains(bytes.ToLower(r.body), []byte(name)) {
			t.Errorf("%s %s as %s: the answer names %q of a tenant the caller holds nothing in: %.500s", method, q.path, s.name, name, r.body)
		}
	}
	if want && q.inspect != nil && r.status == http.StatusOK {
		q.inspect(s, r.body)
	}
	if !want && slices.Contains(garbageSubjects, s.name) {
		g := e.garbageCall(s.token, method, q)
		if g.status != http.StatusForbidden || errorCode(g) != "forbidden" {
			t.Errorf("%s %s as %s with bad input: status %d, want 403 forbidden as with good input: %.300s", method, q.path, s.name, g.status, g.body)
		}
		for _, name := range foreignNames(s) {
			if bytes.Contains(bytes.ToLower(g.body), []byte(name)) {
				t.Errorf("%s %s as %s with bad input: the answer names %q: %.500s", method, q.path, s.name, name, g.body)
			}
		}
	}
}

// garbageQuery breaks every query parameter a route reads.
const garbageQuery = "limit=x&continue=%25%25&since=garbage&until=garbage&resourceVersion=-1&format=zzz&watch=maybe&activate=perhaps"

// garbageCall sends q again with bad query parameters and a bad body.
func (e *matrixEnv) garbageCall(token, method string, q request) response {
	sep := "?"
	if strings.Contains(q.path, "?") {
		sep = "&"
	}
	if q.garbage != "" {
		return e.h.call(token, method, q.path+sep+garbageQuery, q.garbage)
	}
	h := e.h
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.url+Prefix+q.path+sep+garbageQuery,
		strings.NewReader(`{"resourceVersion": "x", "nonsense": [`))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// foreignNames are what s must never read: the name of every tenant it
// holds nothing in, and for omegabank the mark its objects' names carry.
// Among them are the tenants a user with several bindings works in
// besides the one it acts in (audit records name only the roles that bear
// on them).
func foreignNames(s *subject) []string {
	var out []string
	for _, tn := range []string{tenA, tenB, tenC} {
		if !inTenant(s.bindings, tn) {
			out = append(out, tn)
		}
	}
	if !inTenant(s.bindings, tenB) {
		out = append(out, foreignMark)
	}
	return out
}

func errorCode(r response) string {
	var e apitypes.ErrorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Code
}

func membersPath(s authz.Scope) string {
	switch {
	case s.Tenant == "":
		return "/members"
	case s.Project == "":
		return "/tenants/" + s.Tenant + "/members"
	}
	return "/tenants/" + s.Tenant + "/projects/" + s.Project + "/members"
}

// seedMatrixTenants creates the three tenants. alphabank/p1, alphabank/p2
// and omegabank/p1 are alike (environment dev, app1 running v1, ports,
// two release orders); omegabank also has objects whose names carry its
// mark: an application, a user bound in it, a description.
func seedMatrixTenants(e *matrixEnv) {
	h, admin := e.h, e.admin
	seedPlatform(h, admin)
	seedTenant(h, admin, tenA, "31000-31099")
	seedTenant(h, admin, tenB, "31100-31199")
	seedTenant(h, admin, tenC, "31200-31299")
	for _, p := range []struct{ tn, pj, ports string }{
		{tenA, "p1", "31000-31049"}, {tenA, "p2", "31050-31099"}, {tenB, "p1", "31100-31149"},
	} {
		o, g := seedProject(e.t, h, admin, p.tn, p.pj, p.tn+"-"+p.pj+"-dev", p.ports)
		e.orders[p.tn+"/"+p.pj], e.orders[p.tn+"/"+p.pj+"/gray"] = o, g
	}
	h.must(http.StatusCreated, admin, "POST", "/tenants/"+tenC+"/projects", map[string]string{"name": "p1"})
	h.must(http.StatusOK, admin, "PUT", "/tenants/"+tenB, map[string]any{"resourceVersion": 1, "description": "omegabank private banking"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/"+tenB+"/projects/p1/applications", map[string]string{"name": "omega-ledger"})
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "omega-teller", "password": "password-of-omega-teller"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/"+tenB+"/members", map[string]string{"user": "omega-teller", "role": "developer"})
	h.must(http.StatusOK, admin, "PUT", "/tenants/"+tenB+"/org", map[string]string{"csv": orgCSV(tenB)})
}

// inTenant reports whether bindings reach tenant tn at all: a platform
// binding or any binding inside it (every role reads the projects of its
// scope).
func inTenant(bs []authz.Binding, tn string) bool {
	return slices.ContainsFunc(bs, func(b authz.Binding) bool { return b.Scope.Tenant == "" || b.Scope.Tenant == tn })
}

// inspectTenants checks GET /tenants lists exactly the tenants the
// caller's bindings reach (every one for a platform binding).
func (e *matrixEnv) inspectTenants(s *subject, body []byte) {
	var l apitypes.List[tenancy.Tenant]
	if err := json.Unmarshal(body, &l); err != nil {
		e.t.Fatal(err)
	}
	var got []string
	for _, tn := range l.Items {
		got = append(got, tn.Name)
	}
	for _, tn := range []string{tenA, tenB, tenC} {
		if slices.Contains(got, tn) != inTenant(s.bindings, tn) {
			e.t.Errorf("GET /tenants as %s lists %v: tenant %s listed: %v, reachable: %v", s.name, got, tn, slices.Contains(got, tn), inTenant(s.bindings, tn))
		}
	}
}

// inspectProjects checks a project list shows a project-level caller
// only its own projects.
func (e *matrixEnv) inspectProjects(tn string) func(*subject, []byte) {
	return func(s *subject, body []byte) {
		var l apitypes.List[tenancy.Project]
		if err := json.Unmarshal(body, &l); err != nil {
			e.t.Fatal(err)
		}
		for _, p := range l.Items {
			sees := slices.ContainsFunc(s.bindings, func(b authz.Binding) bool {
				return b.Scope.Tenant == "" || (b.Scope.Tenant == tn && (b.Scope.Project == "" || b.Scope.Project == p.Name))
			})
			if !sees {
				e.t.Errorf("GET /tenants/%s/projects as %s lists project %s, which it holds nothing in", tn, s.name, p.Name)
			}
		}
	}
}
