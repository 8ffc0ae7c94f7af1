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
