package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/store/storetest"
)

// TestRoleMatrix walks every endpoint × every role × the caller's own and
// another tenant against a real server and store, and proves that each
// role gets exactly what internal/authz's policy says, and that nobody
// bound inside one tenant reaches another.
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
			runMatrix(t, newHarness(t, db.new(t)))
		})
	}
}

// subject is a user holding one role binding.
type subject struct {
	name    string
	binding authz.Binding
	token   string
}

// matrixCase is one endpoint called against target tenant tenant.
type matrixCase struct {
	path string
	body any
	// allowed says whether bindings may make the call, by the policy.
	allowed func(b []authz.Binding) bool
}

const own, other, proj = "own", "other", "p1"

func runMatrix(t *testing.T, h *harness) {
	admin := h.token("admin", adminPassword)
	seeded := seedMatrix(t, h, admin)
	subjects := matrixSubjects()
	for _, role := range authz.Roles() {
		if !slices.ContainsFunc(subjects, func(s subject) bool { return s.binding.Role == role }) {
			t.Errorf("role %s is not in the role matrix", role)
		}
	}
	for i := range subjects {
		s := &subjects[i]
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": s.name, "password": "password-of-" + s.name})
		base := ""
		if s.binding.Scope.Tenant != "" {
			base = "/tenants/" + s.binding.Scope.Tenant
		}
		if s.binding.Scope.Project != "" {
			base += "/projects/" + s.binding.Scope.Project
		}
		h.must(http.StatusCreated, admin, "POST", base+"/members", map[string]string{"user": s.name, "role": string(s.binding.Role)})
		s.token = h.token(s.name, "password-of-"+s.name)
	}

	covered := map[string]bool{"POST /api/v1/login": true, "GET /api/v1/openapi.json": true} // public, tested elsewhere
	seq := 0
	for _, rt := range h.api.Routes() {
		key := rt.Method + " " + Prefix + rt.Path
		for _, tenant := range []string{own, other} {
			build, ok := matrixCases[rt.Method+" "+rt.Path]
			if !ok {
				build, ok = netassetMatrixCases[rt.Method+" "+rt.Path]
			}
			if !ok {
				build, ok = floorMatrixCases[rt.Method+" "+rt.Path]
			}
			if !ok {
				continue
			}
			covered[key] = true
			for _, s := range subjects {
				seq++
				n := fmt.Sprintf("m%d", seq)
				if rt.Method == "POST" && strings.HasSuffix(rt.Path, "/members") {
					// A binding names a user that exists.
					h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": n, "password": "password-of-" + n})
				}
				c := build(tenant, n)
				c.path = strings.ReplaceAll(c.path, "GRAYSEED", seeded[tenant+"/gray"])
				c.path = strings.ReplaceAll(c.path, "SEEDED", seeded[tenant])
				bindings := []authz.Binding{s.binding}
				want := c.allowed(bindings)
				crossTenant := tenant == other && s.binding.Scope.Level() != authz.PlatformLevel && strings.Contains(rt.Path, "{tenant}")
				if crossTenant && want {
					t.Errorf("policy leak: %s may %s %s in another tenant", s.name, rt.Method, c.path)
				}
				r := h.call(s.token, rt.Method, c.path, c.body)
				switch {
				case !want && r.status != http.StatusForbidden:
					t.Errorf("%s %s as %s: status %d, want 403: %s", rt.Method, c.path, s.name, r.status, r.body)
				case want && (r.status == http.StatusForbidden || r.status == http.StatusUnauthorized || r.status >= 500):
					t.Errorf("%s %s as %s: status %d, want allowed: %s", rt.Method, c.path, s.name, r.status, r.body)
				case want && !slices.Contains(allowedStatus(rt), r.status):
					t.Errorf("%s %s as %s: status %d, want one of %v: %s", rt.Method, c.path, s.name, r.status, allowedStatus(rt), r.body)
				}
				if rt.Method == "GET" && rt.Path == "/tenants" && r.status == http.StatusOK {
					seesOther := strings.Contains(string(r.body), `"name":"other"`)
					if seesOther != (s.binding.Scope.Level() == authz.PlatformLevel) {
						t.Errorf("GET /tenants as %s lists the other tenant: %v", s.name, seesOther)
					}
				}
			}
		}
	}
	for _, key := range h.api.routeKeys() {
		if !covered[key] {
			t.Errorf("route %s is not in the role matrix", key)
		}
	}
}

// allowedStatus is what an allowed call may answer: reads and creates
// succeed; updates succeed or meet a newer resourceVersion written by an
// earlier subject (409); deletes target objects that do not exist (404) or
// are still in use (409), so the matrix leaves its fixture intact.
func allowedStatus(rt Route) []int {
	switch {
	case rt.Method == "GET", rt.Path == "/apply", rt.Path == "/audit/verify", rt.Path == "/login":
		return []int{http.StatusOK}
	case rt.Path == "/logout":
		return []int{http.StatusNoContent}
	case rt.Method == "POST" && strings.Contains(rt.Path, "/deployments/{app}/"):
		return []int{http.StatusOK} // operations on a deployment
	case rt.Method == "POST" && strings.HasSuffix(rt.Path, "/grayplans"):
		return []int{http.StatusCreated, http.StatusConflict} // one plan runs at a time
	case rt.Method == "POST" && strings.Contains(rt.Path, "/grayplans/{app}/"):
		return []int{http.StatusOK, http.StatusConflict} // the plan moves on: promoted, aborted, ...
	case rt.Method == "POST" && strings.HasSuffix(rt.Path, "/releases/{id}/gray"):
		return []int{http.StatusCreated, http.StatusConflict} // the order may have started or its app be held
	case rt.Method == "POST" && strings.Contains(rt.Path, "/approval-floor/"):
		return []int{http.StatusOK, http.StatusConflict} // nothing pending to approve or withdraw
	case rt.Method == "POST" && strings.Contains(rt.Path, "/releases/{id}/"):
		return []int{http.StatusOK, http.StatusConflict} // the order may have moved on
	case rt.Method == "POST":
		return []int{http.StatusCreated}
	case rt.Method == "PUT" && rt.Response == "none":
		return []int{http.StatusNotFound} // /users/gone/password
	case rt.Method == "PUT":
		return []int{http.StatusOK, http.StatusConflict}
	}
	return []int{http.StatusNotFound, http.StatusConflict}
}

func matrixSubjects() []subject {
	ownT, ownP := authz.TenantScope(own), authz.ProjectScope(own, proj)
	var out []subject
	add := func(r authz.Role, s authz.Scope) {
		out = append(out, subject{name: fmt.Sprintf("%s-at-%s", r, s.Level()), binding: authz.Binding{Role: r, Scope: s}})
	}
	add(authz.PlatformAdmin, authz.Platform)
	add(authz.Auditor, authz.Platform)
	add(authz.Viewer, authz.Platform)
	add(authz.TenantAdmin, ownT)
	add(authz.ProjectAdmin, ownP)
	for _, r := range []authz.Role{authz.Developer, authz.ReleaseManager, authz.Operator, authz.Auditor, authz.Viewer} {
		add(r, ownT)
		add(r, ownP)
	}
	return out
}

// seedMatrix creates, as admin, the same objects in both tenants.
func seedMatrix(t *testing.T, h *harness, admin string) (orders map[string]string) {
	orders = map[string]string{}
	h.must(http.StatusCreated, admin, "POST", "/tiers", map[string]any{"name": "small", "resources": map[string]any{"requests": map[string]string{"cpu": "100m", "memory": "128Mi"}}})
	h.must(http.StatusCreated, admin, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": "apiVersion: v1\nkind: Config\n"})
	for _, tn := range []string{own, other} {
		h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": tn})
		h.must(http.StatusCreated, admin, "POST", "/tenants/"+tn+"/projects", map[string]string{"name": proj})
		pp := "/tenants/" + tn + "/projects/" + proj
		h.must(http.StatusCreated, admin, "POST", pp+"/environments", map[string]string{"name": "dev", "cluster": "c1", "namespace": tn + "-dev"})
		h.must(http.StatusCreated, admin, "POST", pp+"/applications", map[string]string{"name": "app1"})
		h.must(http.StatusCreated, admin, "POST", pp+"/applications/app1/versions", version("v1"))
		h.must(http.StatusCreated, admin, "POST", pp+"/applications/app1/versions", version("v2"))
		h.must(http.StatusOK, admin, "PUT", pp+"/environments/dev/deployments/app1", map[string]string{"version": "v1"})
		seedNetwork(t, h, admin, tn)
		r := h.must(http.StatusCreated, admin, "POST", pp+"/releases", map[string]any{"environment": "dev", "title": "seed",
			"items": []map[string]string{{"application": "app1", "version": "v1"}}})
		var o OrderView
		if err := json.Unmarshal(r.body, &o); err != nil {
			t.Fatal(err)
		}
		orders[tn] = o.ID
		r = h.must(http.StatusCreated, admin, "POST", pp+"/releases", map[string]any{"environment": "dev", "title": "seed gray",
			"items": []map[string]string{{"application": "app1", "version": "v2"}}})
		if err := json.Unmarshal(r.body, &o); err != nil {
			t.Fatal(err)
		}
		orders[tn+"/gray"] = o.ID
	}
	return orders
}

// releaseCase is an action on the seeded order (SEEDED in the path): allowed callers may meet
// it in a state that refuses the action (409), as earlier subjects moved it.
func releaseCase(action string, perm authz.Permission, body any) func(tn, _ string) matrixCase {
	return func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/releases/SEEDED/" + action, body, allow(perm, authz.ProjectScope(tn, proj))}
	}
}

func version(name string) map[string]any {
	return map[string]any{"name": name, "image": "registry.local/app1:1", "tier": "small", "orchestration": map[string]any{"replicas": 1,
		"ports": []map[string]any{{"name": "http", "containerPort": 8080}}}}
}

// allow is the plain policy check for perm at scope.
func allow(perm authz.Permission, s authz.Scope) func([]authz.Binding) bool {
	return func(b []authz.Binding) bool { return authz.Allowed(b, perm, s) }
}

func anyone([]authz.Binding) bool { return true }

// matrixCases builds the request of each route for a target tenant; name
// is unique per call, for objects the call creates.
var matrixCases = map[string]func(tenant, name string) matrixCase{
	"GET /tenants/{tenant}/projects/{project}/releases": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/releases", nil, allow(authz.ReleaseRead, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/releases/{id}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/releases/SEEDED", nil, allow(authz.ReleaseRead, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/releases": func(tn, name string) matrixCase {
		return matrixCase{projPath(tn) + "/releases", map[string]any{"environment": "dev", "title": name, "draft": true,
			"items": []map[string]string{{"application": "app1", "version": "v1"}}}, allow(authz.ReleaseCreate, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/submit":   releaseCase("submit", authz.ReleaseCreate, nil),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/approve":  releaseCase("approve", authz.ReleaseApprove, map[string]string{"comment": "ok"}),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/start":    releaseCase("start", authz.ReleaseOperate, nil),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/abort":    releaseCase("abort", authz.ReleaseOperate, map[string]string{"reason": "matrix"}),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/rollback": releaseCase("rollback", authz.ReleaseOperate, nil),
	"GET /tenants/{tenant}/projects/{project}/releases/{id}/gray": func(tn, _ string) matrixCase {
		s := authz.ProjectScope(tn, proj)
		return matrixCase{projPath(tn) + "/releases/GRAYSEED/gray", nil, func(b []authz.Binding) bool {
			return authz.Allowed(b, authz.GrayRead, s) && authz.Allowed(b, authz.ReleaseRead, s)
		}}
	},
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/gray": func(tn, _ string) matrixCase {
		s := authz.ProjectScope(tn, proj)
		return matrixCase{projPath(tn) + "/releases/GRAYSEED/gray", map[string]any{"steps": []map[string]any{{"tellers": []string{"T900"}}, {"branches": []string{"0101"}}}},
			func(b []authz.Binding) bool {
				return authz.Allowed(b, authz.GrayManage, s) && authz.Allowed(b, authz.ReleaseOperate, s)
			}}
	},
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/gray/step":    grayGroupCase("step", map[string]int{"to": 1}),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/gray/set":     grayGroupCase("set", map[string]int{"step": 0}),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/gray/promote": grayGroupCase("promote", map[string]string{"keepOld": "1h"}),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/gray/abort":   grayGroupCase("abort", map[string]string{"reason": "matrix"}),
	"POST /tenants/{tenant}/projects/{project}/releases/{id}/gray/end":     grayGroupCase("end", nil),
	"GET /tenants/{tenant}/projects/{project}/environments/{environment}/deployments": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments", nil, allow(authz.DeploymentRead, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1", nil, allow(authz.DeploymentRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1", map[string]string{"version": "v1"},
			allow(authz.DeploymentDeploy, authz.ProjectScope(tn, proj))}
	},
	"DELETE /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/gone", nil, allow(authz.DeploymentDelete, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/scale": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1/scale", map[string]int{"replicas": 2},
			allow(authz.DeploymentOperate, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/stop": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1/stop", nil, allow(authz.DeploymentOperate, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/start": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1/start", nil, allow(authz.DeploymentOperate, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/restart": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/deployments/app1/restart", nil, allow(authz.DeploymentOperate, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/grayplans", nil, allow(authz.GrayRead, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/grayplans", map[string]any{"application": "app1", "grayVersion": "v2",
			"steps": []map[string]any{{"tellers": []string{"T900"}}, {"branches": []string{"0101"}}}}, allow(authz.GrayManage, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans/{app}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/grayplans/app1", nil, allow(authz.GrayRead, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans/{app}/step": grayOpCase("step", map[string]int{"to": 1}),
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans/{app}/set":  grayOpCase("set", map[string]int{"step": 0}),
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans/{app}/promote": grayOpCase("promote",
		map[string]string{"keepOld": "1h"}),
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans/{app}/abort": grayOpCase("abort", map[string]string{"reason": "matrix"}),
	"POST /tenants/{tenant}/projects/{project}/environments/{environment}/grayplans/{app}/end":   grayOpCase("end", nil),
	"GET /tenants/{tenant}/org": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/org", nil, allow(authz.OrgRead, authz.TenantScope(tn))}
	},
	"PUT /tenants/{tenant}/org": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/org", map[string]string{"csv": "level,code,name,parent\nregion,north,North,\n"},
			allow(authz.OrgImport, authz.TenantScope(tn))}
	},
	"GET /gateway/config": func(string, string) matrixCase {
		return matrixCase{"/gateway/config", nil, allow(authz.GatewayRead, authz.Platform)}
	},

	"POST /logout": func(string, string) matrixCase { return matrixCase{"/logout", nil, anyone} },
	"GET /whoami":  func(string, string) matrixCase { return matrixCase{"/whoami", nil, anyone} },

	"GET /tenants": func(string, string) matrixCase { return matrixCase{"/tenants", nil, anyone} },
	"POST /tenants": func(_, n string) matrixCase {
		return matrixCase{"/tenants", map[string]string{"name": n}, allow(authz.TenantCreate, authz.TenantScope(n))}
	},
	"GET /tenants/{tenant}": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn, nil, allow(authz.TenantRead, authz.TenantScope(tn))}
	},
	"PUT /tenants/{tenant}": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn, map[string]any{"resourceVersion": 1, "description": "x"}, allow(authz.TenantUpdate, authz.TenantScope(tn))}
	},
	"DELETE /tenants/{tenant}": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn, nil, allow(authz.TenantDelete, authz.TenantScope(tn))} // has projects: 409 when allowed
	},

	"GET /tenants/{tenant}/projects": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/projects", nil, func(b []authz.Binding) bool {
			return authz.Allowed(b, authz.ProjectRead, authz.ProjectScope(tn, "*")) ||
				slices.ContainsFunc(b, func(x authz.Binding) bool { return x.Scope.Tenant == tn && x.Scope.Project != "" })
		}}
	},
	"POST /tenants/{tenant}/projects": func(tn, n string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/projects", map[string]string{"name": n}, allow(authz.ProjectCreate, authz.ProjectScope(tn, n))}
	},
	"GET /tenants/{tenant}/projects/{project}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn), nil, allow(authz.ProjectRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn), map[string]any{"resourceVersion": 1, "description": "x"}, allow(authz.ProjectUpdate, authz.ProjectScope(tn, proj))}
	},
	"DELETE /tenants/{tenant}/projects/{project}": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/projects/gone", nil, allow(authz.ProjectDelete, authz.ProjectScope(tn, "gone"))}
	},

	"GET /tenants/{tenant}/projects/{project}/environments": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments", nil, allow(authz.EnvironmentRead, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/environments": func(tn, n string) matrixCase {
		return matrixCase{projPath(tn) + "/environments", map[string]string{"name": n, "cluster": "c1", "namespace": n},
			allow(authz.EnvironmentCreate, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/environments/{environment}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev", nil, allow(authz.EnvironmentRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/environments/{environment}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev", map[string]any{"resourceVersion": 1, "cluster": "c1", "namespace": tn + "-dev"},
			allow(authz.EnvironmentUpdate, authz.ProjectScope(tn, proj))}
	},
	"DELETE /tenants/{tenant}/projects/{project}/environments/{environment}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/gone", nil, allow(authz.EnvironmentDelete, authz.ProjectScope(tn, proj))}
	},

	"GET /tenants/{tenant}/quota": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/quota", nil, allow(authz.QuotaRead, authz.TenantScope(tn))}
	},
	"PUT /tenants/{tenant}/quota": func(tn, _ string) matrixCase {
		return matrixCase{"/tenants/" + tn + "/quota", map[string]any{"hard": map[string]string{"cpu": "100"}}, allow(authz.TenantQuotaSet, authz.TenantScope(tn))}
	},
	"GET /tenants/{tenant}/projects/{project}/quota": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/quota", nil, allow(authz.QuotaRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/quota": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/quota", map[string]any{"hard": map[string]string{"cpu": "1"}}, allow(authz.ProjectQuotaSet, authz.ProjectScope(tn, proj))}
	},

	"GET /members":                                                      memberList(func(string) string { return "" }),
	"GET /tenants/{tenant}/members":                                     memberList(func(tn string) string { return "/tenants/" + tn }),
	"GET /tenants/{tenant}/projects/{project}/members":                  memberList(projPath),
	"POST /members":                                                     memberAdd(func(string) string { return "" }),
	"POST /tenants/{tenant}/members":                                    memberAdd(func(tn string) string { return "/tenants/" + tn }),
	"POST /tenants/{tenant}/projects/{project}/members":                 memberAdd(projPath),
	"DELETE /members/{user}/{role}":                                     memberRemove(func(string) string { return "" }),
	"DELETE /tenants/{tenant}/members/{user}/{role}":                    memberRemove(func(tn string) string { return "/tenants/" + tn }),
	"DELETE /tenants/{tenant}/projects/{project}/members/{user}/{role}": memberRemove(projPath),

	"GET /clusters": func(string, string) matrixCase {
		return matrixCase{"/clusters", nil, allow(authz.ClusterRead, authz.Platform)}
	},
	"POST /clusters": func(_, n string) matrixCase {
		return matrixCase{"/clusters", map[string]string{"name": n, "kubeconfig": "apiVersion: v1\nkind: Config\n"}, allow(authz.ClusterCreate, authz.Platform)}
	},
	"GET /clusters/{cluster}": func(string, string) matrixCase {
		return matrixCase{"/clusters/c1", nil, allow(authz.ClusterRead, authz.Platform)}
	},
	"PUT /clusters/{cluster}": func(string, string) matrixCase {
		return matrixCase{"/clusters/c1", map[string]any{"resourceVersion": 1, "zone": "beijing"}, allow(authz.ClusterUpdate, authz.Platform)}
	},
	"DELETE /clusters/{cluster}": func(string, string) matrixCase {
		return matrixCase{"/clusters/gone", nil, allow(authz.ClusterDelete, authz.Platform)}
	},

	"GET /tenants/{tenant}/projects/{project}/applications": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/applications", nil, allow(authz.ApplicationRead, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/applications": func(tn, n string) matrixCase {
		return matrixCase{projPath(tn) + "/applications", map[string]string{"name": n}, allow(authz.ApplicationCreate, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/applications/{app}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/applications/app1", nil, allow(authz.ApplicationRead, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/applications/{app}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/applications/app1", map[string]any{"resourceVersion": 1, "description": "x"},
			allow(authz.ApplicationUpdate, authz.ProjectScope(tn, proj))}
	},
	"DELETE /tenants/{tenant}/projects/{project}/applications/{app}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/applications/gone", nil, allow(authz.ApplicationDelete, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/applications/{app}/versions": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/applications/app1/versions", nil, allow(authz.VersionRead, authz.ProjectScope(tn, proj))}
	},
	"POST /tenants/{tenant}/projects/{project}/applications/{app}/versions": func(tn, n string) matrixCase {
		return matrixCase{projPath(tn) + "/applications/app1/versions", version(n), allow(authz.VersionCreate, authz.ProjectScope(tn, proj))}
	},
	"PUT /tenants/{tenant}/projects/{project}/applications/{app}/current-version": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/applications/app1/current-version", map[string]string{"version": "v1"},
			allow(authz.VersionCreate, authz.ProjectScope(tn, proj))}
	},
	"GET /tenants/{tenant}/projects/{project}/applications/{app}/versions/{version}": func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/applications/app1/versions/v1", nil, allow(authz.VersionRead, authz.ProjectScope(tn, proj))}
	},

	"GET /tiers": func(string, string) matrixCase {
		return matrixCase{"/tiers", nil, allow(authz.TierRead, authz.Platform)}
	},
	"POST /tiers": func(_, n string) matrixCase {
		return matrixCase{"/tiers", map[string]any{"name": n, "resources": map[string]any{"requests": map[string]string{"cpu": "1", "memory": "1Gi"}}}, allow(authz.TierCreate, authz.Platform)}
	},
	"GET /tiers/{tier}": func(string, string) matrixCase {
		return matrixCase{"/tiers/small", nil, allow(authz.TierRead, authz.Platform)}
	},
	"PUT /tiers/{tier}": func(string, string) matrixCase {
		return matrixCase{"/tiers/small", map[string]any{"resourceVersion": 1, "resources": map[string]any{"requests": map[string]string{"cpu": "100m", "memory": "128Mi"}}}, allow(authz.TierUpdate, authz.Platform)}
	},
	"DELETE /tiers/{tier}": func(string, string) matrixCase {
		return matrixCase{"/tiers/gone", nil, allow(authz.TierDelete, authz.Platform)}
	},

	"GET /users": func(string, string) matrixCase {
		return matrixCase{"/users", nil, allow(authz.UserRead, authz.Platform)}
	},
	"POST /users": func(_, n string) matrixCase {
		return matrixCase{"/users", map[string]string{"name": n, "password": "a-long-password"}, allow(authz.UserCreate, authz.Platform)}
	},
	"GET /users/{user}": func(string, string) matrixCase {
		return matrixCase{"/users/admin", nil, allow(authz.UserRead, authz.Platform)}
	},
	"PUT /users/{user}": func(string, string) matrixCase {
		return matrixCase{"/users/admin", map[string]any{"resourceVersion": 1, "displayName": "Administrator"}, allow(authz.UserUpdate, authz.Platform)}
	},
	"PUT /users/{user}/password": func(string, string) matrixCase {
		return matrixCase{"/users/gone/password", map[string]string{"password": "another-long-password"}, allow(authz.UserUpdate, authz.Platform)}
	},
	"DELETE /users/{user}": func(string, string) matrixCase {
		return matrixCase{"/users/gone", nil, allow(authz.UserDelete, authz.Platform)}
	},

	"GET /tokens":         func(string, string) matrixCase { return matrixCase{"/tokens", nil, anyone} },
	"POST /tokens":        func(_, n string) matrixCase { return matrixCase{"/tokens", map[string]string{"name": n}, anyone} },
	"DELETE /tokens/{id}": func(string, string) matrixCase { return matrixCase{"/tokens/gone", nil, anyone} },

	"GET /audit": func(tn, _ string) matrixCase {
		return matrixCase{"/audit?tenant=" + tn, nil, allow(authz.AuditRead, authz.TenantScope(tn))}
	},
	"GET /audit/export": func(tn, _ string) matrixCase {
		return matrixCase{"/audit/export?format=csv&tenant=" + tn, nil, allow(authz.AuditRead, authz.TenantScope(tn))}
	},
	"POST /audit/verify": func(string, string) matrixCase {
		return matrixCase{"/audit/verify", nil, allow(authz.AuditVerify, authz.Platform)}
	},

	"POST /apply": func(tn, n string) matrixCase {
		doc := fmt.Sprintf("apiVersion: berth.dev/v1\nkind: Application\nmetadata: {name: %s, tenant: %s, project: %s}\n", n, tn, proj)
		return matrixCase{"/apply", doc, allow(authz.ApplicationCreate, authz.ProjectScope(tn, proj))}
	},
}

// grayGroupCase is a change of the gray group of the order seeded for it.
func grayGroupCase(op string, body any) func(string, string) matrixCase {
	return func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/releases/GRAYSEED/gray/" + op, body, allow(authz.GrayManage, authz.ProjectScope(tn, proj))}
	}
}

func grayOpCase(op string, body any) func(string, string) matrixCase {
	return func(tn, _ string) matrixCase {
		return matrixCase{projPath(tn) + "/environments/dev/grayplans/app1/" + op, body, allow(authz.GrayManage, authz.ProjectScope(tn, proj))}
	}
}

func projPath(tn string) string { return "/tenants/" + tn + "/projects/" + proj }

func scopeOfPath(base string) authz.Scope {
	parts := strings.Split(strings.Trim(base, "/"), "/")
	var s authz.Scope
	if len(parts) >= 2 {
		s.Tenant = parts[1]
	}
	if len(parts) >= 4 {
		s.Project = parts[3]
	}
	return s
}

func memberList(base func(string) string) func(string, string) matrixCase {
	return func(tn, _ string) matrixCase {
		return matrixCase{base(tn) + "/members", nil, allow(authz.MemberRead, scopeOfPath(base(tn)))}
	}
}

func memberAdd(base func(string) string) func(string, string) matrixCase {
	return func(tn, n string) matrixCase {
		s := scopeOfPath(base(tn))
		return matrixCase{base(tn) + "/members", map[string]string{"user": n, "role": "viewer"},
			func(b []authz.Binding) bool { return authz.CanGrant(b, authz.Viewer, s) }}
	}
}

func memberRemove(base func(string) string) func(string, string) matrixCase {
	return func(tn, _ string) matrixCase {
		return matrixCase{base(tn) + "/members/nobody/viewer", nil, allow(authz.MemberDelete, scopeOfPath(base(tn)))}
	}
}
