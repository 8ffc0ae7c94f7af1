package api

import (
	"bytes"
	"net/http"

	"berth.dev/berth/internal/authz"
)

// alertCases are the role-matrix cases of the alerting routes
// (docs/observability.md, "Permissions"). Every call acts on one rule
// and one receiver of fixed names per project (a project holds at most
// alert.MaxReceiversPerProject receivers; a fresh one per call would
// reach it). The harness runs no
// Alertmanager: an allowed caller's silence and alert requests are
// refused by the server's state (409), a refused caller by its roles
// (403). The hook Alertmanager posts to is public (its receiver's token
// authenticates it) and not in the matrix.
func alertCases() map[string]routeCase {
	rules, receivers := "/tenants/{tenant}/projects/{project}/alert-rules", "/tenants/{tenant}/projects/{project}/alert-receivers"
	rule := map[string]any{"environment": "dev", "application": "app1", "template": "error-rate", "threshold": "5%"}
	receiver := map[string]any{"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}
	seeded := func(e *matrixEnv, path string, body any) string {
		e.h.must(http.StatusOK, e.admin, "PUT", path, body)
		return path
	}
	ok200 := func(q request) request {
		q.ok = []int{http.StatusOK}
		return q
	}
	return map[string]routeCase{
		"GET " + rules: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/alert-rules", nil, tg, authz.AlertRead)
		}),
		"PUT " + rules + "/{name}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return ok200(need(pp(tg)+"/alert-rules/matrix-put", rule, tg, authz.AlertWrite))
		}),
		"DELETE " + rules + "/{name}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(seeded(e, pp(tg)+"/alert-rules/matrix-del", rule), nil, tg, authz.AlertWrite)
			q.survives = func() bool {
				return bytes.Contains(e.h.call(e.admin, "GET", pp(tg)+"/alert-rules", nil).body, []byte(`"matrix-del"`))
			}
			return q
		}),
		"GET " + receivers: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/alert-receivers", nil, tg, authz.AlertRead)
		}),
		"PUT " + receivers + "/{name}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return ok200(need(pp(tg)+"/alert-receivers/matrix-put", receiver, tg, authz.AlertReceiverManage))
		}),
		"DELETE " + receivers + "/{name}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(seeded(e, pp(tg)+"/alert-receivers/matrix-del", receiver), nil, tg, authz.AlertReceiverManage)
			q.survives = func() bool {
				return bytes.Contains(e.h.call(e.admin, "GET", pp(tg)+"/alert-receivers", nil).body, []byte(`"matrix-del"`))
			}
			return q
		}),
		"GET /tenants/{tenant}/projects/{project}/silences": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(pp(tg)+"/silences", nil, tg, authz.AlertRead))
		}),
		"POST /tenants/{tenant}/projects/{project}/silences": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(pp(tg)+"/silences", map[string]any{"duration": "1h", "comment": "maintenance"}, tg, authz.AlertWrite)
			q.ok = []int{http.StatusCreated, http.StatusConflict}
			return q
		}),
		"DELETE /tenants/{tenant}/projects/{project}/silences/{id}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			q := need(pp(tg)+"/silences/00000000-0000-0000-0000-000000000000", nil, tg, authz.AlertWrite)
			q.ok = []int{http.StatusNoContent, http.StatusConflict}
			return q
		}),
		"GET /tenants/{tenant}/projects/{project}/alerts": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return stateful(need(pp(tg)+"/alerts", nil, tg, authz.AlertRead))
		}),
	}
}
