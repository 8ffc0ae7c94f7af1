package api

import (
	"net/http"

	"berth.dev/berth/internal/authz"
)

// configCases are the role-matrix cases of the config center's routes
// (docs/config-center.md, "Permissions"). Each acts on an item of its
// own that admin publishes first, in environment dev.
func configCases() map[string]routeCase {
	base := "/tenants/{tenant}/projects/{project}/environments/{environment}/configs"
	item := base + "/{group}/{dataid}"
	envPath := func(tg authz.Scope) string { return pp(tg) + "/environments/dev/configs" }
	seeded := func(e *matrixEnv, tg authz.Scope, n string) string {
		p := envPath(tg) + "/G/" + n + ".properties"
		e.h.must(http.StatusOK, e.admin, "PUT", p, map[string]any{"type": "properties", "content": "a=1\n"})
		return p
	}
	ok200 := func(q request) request {
		q.ok = []int{http.StatusOK}
		return q
	}
	cases := map[string]routeCase{
		"GET " + base: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(envPath(tg), nil, tg, authz.ConfigRead)
		}),
		"GET " + item: at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(seeded(e, tg, n), nil, tg, authz.ConfigRead)
		}),
		"PUT " + item: at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return ok200(need(envPath(tg)+"/G/"+n+".yaml", map[string]any{"type": "yaml", "content": "a: 1\n"}, tg, authz.ConfigWrite))
		}),
		"DELETE " + item: at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			q := ok200(need(seeded(e, tg, n), nil, tg, authz.ConfigWrite))
			q.survives = e.exists(q.path)
			return q
		}),
		"GET " + item + "/revisions": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(seeded(e, tg, n)+"/revisions", nil, tg, authz.ConfigRead)
		}),
		"GET " + item + "/revisions/{revision}": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(seeded(e, tg, n)+"/revisions/1", nil, tg, authz.ConfigRead)
		}),
		"GET " + item + "/diff": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(seeded(e, tg, n)+"/diff?from=1&to=1", nil, tg, authz.ConfigRead)
		}),
		"POST " + item + "/rollback": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return ok200(need(seeded(e, tg, n)+"/rollback", map[string]any{"to": 1}, tg, authz.ConfigWrite))
		}),
		// Nothing awaits approval in dev, nor is gray: an allowed caller is
		// refused by the state (409), a refused one by its roles (403).
		"POST " + item + "/revisions/{revision}/approve": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return stateful(need(seeded(e, tg, n)+"/revisions/1/approve", nil, tg, authz.ConfigApprove))
		}),
		"POST " + item + "/revisions/{revision}/reject": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return stateful(need(seeded(e, tg, n)+"/revisions/1/reject", map[string]any{"reason": "no"}, tg, authz.ConfigApprove))
		}),
	}
	for _, op := range []string{"promote", "abort"} {
		cases["POST "+item+"/gray/"+op] = at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return stateful(need(seeded(e, tg, n)+"/gray/"+op, nil, tg, authz.ConfigWrite))
		})
	}
	return cases
}
