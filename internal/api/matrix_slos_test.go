package api

import (
	"bytes"
	"net/http"

	"berth.dev/berth/internal/authz"
)

// sloCases are the role-matrix cases of the SLO routes
// (docs/observability.md, "SLOs"): reads take alert:read, changes
// alert:write. The harness runs no Prometheus: an allowed caller's budget
// read is refused by the server's state (409), a refused caller by its
// roles (403).
func sloCases() map[string]routeCase {
	slos := "/tenants/{tenant}/projects/{project}/slos"
	spec := map[string]any{"environment": "dev", "application": "app1", "kind": "availability", "objective": 99.9}
	seeded := func(e *matrixEnv, path string) string {
		e.h.must(http.StatusOK, e.admin, "PUT", path, spec)
		return path
	}
	return map[string]routeCase{
		"GET " + slos: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/slos", nil, tg, authz.AlertRead)
		}),
		"GET " + slos + "/{name}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(seeded(e, pp(tg)+"/slos/matrix-get"), nil, tg, authz.AlertRead)
		}),
		"GET " + slos + "/{name}/budget": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(seeded(e, pp(tg)+"/slos/matrix-get")+"/budget", nil, tg, authz.AlertRead))
		}),
		"PUT " + slos + "/{name}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(pp(tg)+"/slos/matrix-put", spec, tg, authz.AlertWrite)
			q.ok = []int{http.StatusOK}
			return q
		}),
		"DELETE " + slos + "/{name}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(seeded(e, pp(tg)+"/slos/matrix-del"), nil, tg, authz.AlertWrite)
			q.survives = func() bool {
				return bytes.Contains(e.h.call(e.admin, "GET", pp(tg)+"/slos", nil).body, []byte(`"matrix-del"`))
			}
			return q
		}),
	}
}

// dashboardCases are the role-matrix cases of applications' dashboards
// (docs/observability.md, "Dashboards"): application:read at the project.
// The harness runs no Prometheus: an allowed caller is refused by the
// server's state (409) after the authorization decision. The alert
// history is read with alert:read; acknowledging takes alert:write (the
// matrix's history is empty: an allowed caller learns the alert does not
// exist).
func dashboardCases() map[string]routeCase {
	return map[string]routeCase{
		"GET /tenants/{tenant}/projects/{project}/alert-history": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/alert-history", nil, tg, authz.AlertRead)
		}),
		"POST /tenants/{tenant}/projects/{project}/alert-history/{id}/acknowledge": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(pp(tg)+"/alert-history/none/acknowledge", map[string]string{"reason": "on it"}, tg, authz.AlertWrite)
			q.ok = []int{http.StatusNotFound}
			return q
		}),
		"GET /tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/metrics": at(onProject,
			func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
				return stateful(need(pp(tg)+"/environments/dev/deployments/app1/metrics?since=1h&step=1m", nil, tg, authz.ApplicationRead))
			}),
	}
}
