package api

import (
	"net/http"
	"strings"

	"berth.dev/berth/internal/authz"
)

// deploymentCases are the role-matrix cases of deployments (F5).
func deploymentCases() map[string]routeCase {
	base := "GET /tenants/{tenant}/projects/{project}/environments/{environment}/deployments"
	dep := func(tg authz.Scope) string { return pp(tg) + "/environments/dev/deployments" }
	cases := map[string]routeCase{
		base: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(dep(tg), nil, tg, authz.DeploymentRead)
		}),
		base + "/{app}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(dep(tg)+"/app1", nil, tg, authz.DeploymentRead)
		}),
		"PUT" + base[3:] + "/{app}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(dep(tg)+"/app1", map[string]string{"version": "v1"}, tg, authz.DeploymentDeploy)) // app1 may be held by an order
		}),
		"DELETE" + base[3:] + "/{app}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			e.h.must(http.StatusCreated, e.admin, "POST", pp(tg)+"/applications", map[string]string{"name": n})
			e.h.must(http.StatusCreated, e.admin, "POST", pp(tg)+"/applications/"+n+"/versions", version("v1"))
			e.h.must(http.StatusOK, e.admin, "PUT", dep(tg)+"/"+n, map[string]string{"version": "v1"})
			q := need(dep(tg)+"/"+n, nil, tg, authz.DeploymentDelete)
			q.ok, q.survives = []int{http.StatusAccepted}, e.exists(q.path)
			return q
		}),
		"POST" + base[3:] + "/{app}/scale": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(dep(tg)+"/app1/scale", map[string]int{"replicas": 2}, tg, authz.DeploymentOperate))
		}),
	}
	for _, op := range []string{"stop", "start", "restart"} {
		cases["POST"+base[3:]+"/{app}/"+op] = at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(dep(tg)+"/app1/"+op, nil, tg, authz.DeploymentOperate))
		})
	}
	return cases
}

// releaseCases are the role-matrix cases of release orders and their gray
// groups (docs/release-orders.md). Actions run on the orders seeded in
// each project; allowed callers may find them moved on by earlier ones.
func releaseCases() map[string]routeCase {
	base := "/tenants/{tenant}/projects/{project}/releases"
	cases := map[string]routeCase{
		"GET " + base: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/releases", nil, tg, authz.ReleaseRead)
		}),
		"POST " + base: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(pp(tg)+"/releases", map[string]any{"environment": "dev", "title": n, "draft": true,
				"items": []map[string]string{{"application": "app1", "version": "v1"}}}, tg, authz.ReleaseCreate)
		}),
		"GET " + base + "/{id}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/releases/"+e.order(tg), nil, tg, authz.ReleaseRead)
		}),
		"GET " + base + "/{id}/gray": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/releases/"+e.grayOrder(tg)+"/gray", nil, tg, authz.GrayRead, authz.ReleaseRead)
		}),
		"POST " + base + "/{id}/gray": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			// Starting a gray group starts its order: release:operate too.
			q := need(pp(tg)+"/releases/"+e.grayOrder(tg)+"/gray", map[string]any{"steps": []map[string]any{{"tellers": []string{"T900"}}, {"branches": []string{"0101"}}}},
				tg, authz.GrayManage, authz.ReleaseOperate)
			q.ok = []int{http.StatusCreated, http.StatusConflict}
			return q
		}),
	}
	for action, perm := range map[string]authz.Permission{"submit": authz.ReleaseCreate, "approve": authz.ReleaseApprove,
		"start": authz.ReleaseOperate, "abort": authz.ReleaseOperate, "rollback": authz.ReleaseOperate} {
		cases["POST "+base+"/{id}/"+action] = at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(pp(tg)+"/releases/"+e.order(tg)+"/"+action, nil, tg, perm))
		})
	}
	for op, body := range map[string]any{"step": map[string]int{"to": 1}, "set": map[string]int{"step": 0}, "promote": map[string]string{"keepOld": "1h"},
		"abort": map[string]string{"reason": "matrix"}, "end": nil} {
		cases["POST "+base+"/{id}/gray/"+op] = at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(pp(tg)+"/releases/"+e.grayOrder(tg)+"/gray/"+op, body, tg, authz.GrayManage))
		})
	}
	return cases
}

func (e *matrixEnv) order(tg authz.Scope) string { return e.orders[tg.Tenant+"/"+tg.Project] }
func (e *matrixEnv) grayOrder(tg authz.Scope) string {
	return e.orders[tg.Tenant+"/"+tg.Project+"/gray"]
}

// grayCases are the role-matrix cases of gray plans, the org directory and
// the gateway stream (docs/gray-release.md).
func grayCases() map[string]routeCase {
	base := "/tenants/{tenant}/projects/{project}/environments/{environment}/grayplans"
	plans := func(tg authz.Scope) string { return pp(tg) + "/environments/dev/grayplans" }
	cases := map[string]routeCase{
		"GET " + base: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(plans(tg), nil, tg, authz.GrayRead)
		}),
		"POST " + base: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(plans(tg), map[string]any{"application": "app1", "grayVersion": "v2",
				"steps": []map[string]any{{"tellers": []string{"T900"}}, {"branches": []string{"0101"}}}}, tg, authz.GrayManage)
			q.ok = []int{http.StatusCreated, http.StatusConflict} // one plan at a time
			return q
		}),
		"GET " + base + "/{app}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(plans(tg)+"/app1", nil, tg, authz.GrayRead)
			q.ok = []int{http.StatusOK, http.StatusNotFound} // no plan was started yet
			return q
		}),
		"GET /tenants/{tenant}/org": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(tp(tg)+"/org", nil, tg, authz.OrgRead)
		}),
		"PUT /tenants/{tenant}/org": at(onTenant, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(tp(tg)+"/org", map[string]string{"csv": orgCSV(tg.Tenant)}, tg, authz.OrgImport)
			q.ok = []int{http.StatusOK}
			return q
		}),
		"GET /gateway/config": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/gateway/config", nil, authz.Platform, authz.GatewayRead)
		}),
		"GET /gateway/deliveries": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return need("/gateway/deliveries", nil, authz.Platform, authz.GatewayRead)
		}),
		"POST /gateway/config/applied": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			q := need("/gateway/config/applied", map[string]string{"subscriber": "g1", "id": strings.Repeat("0", 64)}, authz.Platform, authz.GatewayRead)
			q.ok = []int{http.StatusNoContent}
			return q
		}),
	}
	for op, body := range map[string]any{"step": map[string]int{"to": 1}, "set": map[string]int{"step": 0}, "promote": map[string]string{"keepOld": "1h"},
		"abort": map[string]string{"reason": "matrix"}, "end": nil} {
		cases["POST "+base+"/{app}/"+op] = at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := stateful(need(plans(tg)+"/app1/"+op, body, tg, authz.GrayManage))
			q.ok = append(q.ok, http.StatusNotFound) // no plan was started yet
			return q
		})
	}
	return cases
}

// orgCSV is an org directory with the teller and branch the gray cases
// route by, under a region named for the tenant.
func orgCSV(tn string) string {
	return "level,code,name,parent\nregion," + tn + "-north,North,\nbranch,0101,Haidian," + tn + "-north\nteller,T900,Zhang Wei,0101\n"
}
