package api

import (
	"net/http"

	"berth.dev/berth/internal/authz"
)

// terminalCases are the role-matrix cases of the guarded terminal
// (docs/terminal.md) and of log search. The matrix's server reaches no cluster, so an allowed
// caller's session is refused as not configured (409) after the
// authorization decision; sessions themselves are proven against the
// local cluster (internal/platform's terminal tests, terminal_test.go).
func terminalCases() map[string]routeCase {
	base := "/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}"
	dep := func(tg authz.Scope) string { return pp(tg) + "/environments/dev/deployments/app1" }
	unconfigured := func(q request) request {
		q.ok = []int{http.StatusConflict}
		return q
	}
	return map[string]routeCase{
		"POST " + base + "/exec": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return unconfigured(need(dep(tg)+"/exec", map[string]string{"line": "tail -n 1 /var/log/app.log"}, tg, authz.TerminalOpen))
		}),
		"GET " + base + "/terminal": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return unconfigured(need(dep(tg)+"/terminal", nil, tg, authz.TerminalOpen))
		}),
		// Log search (docs/observability.md) reaches no cluster here either.
		"GET " + base + "/logs": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return unconfigured(need(dep(tg)+"/logs?grep=ERROR", nil, tg, authz.LogRead))
		}),
		"GET /terminal-sessions": at(onEvery, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			if tg.Tenant == "" {
				return need("/terminal-sessions", nil, authz.Platform, authz.TerminalSessionRead)
			}
			// One tenant's: filtered by the caller's bindings.
			return request{path: "/terminal-sessions?tenant=" + tg.Tenant, allow: anyone}
		}),
		// No session exists in the matrix: every caller learns only that.
		"GET /terminal-sessions/{id}": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return request{path: "/terminal-sessions/" + n, allow: anyone, ok: []int{http.StatusNotFound}}
		}),
		"GET /terminal-sessions/{id}/recording": at(onPlatform, func(_ *matrixEnv, _ *subject, _ authz.Scope, n string) request {
			return request{path: "/terminal-sessions/" + n + "/recording", allow: anyone, ok: []int{http.StatusNotFound}}
		}),
	}
}
