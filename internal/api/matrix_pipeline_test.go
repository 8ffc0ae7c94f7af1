package api

import (
	"net/http"

	"berth.dev/berth/internal/authz"
)

// pipelineSpec is a pipeline of app1 whose stage prod waits for a
// release manager.
func pipelineSpec() map[string]any {
	return map[string]any{"application": "app1",
		"source":   map[string]any{"repository": "https://git.example/bank/app1.git"},
		"build":    map[string]any{"type": "go", "package": ".", "image": "registry.example/bank/app1", "owner": map[string]any{"user": "dora"}},
		"delivery": map[string]any{"tier": "small"},
		"stages":   []map[string]any{{"name": "prod", "owner": map[string]any{"group": "release-manager"}, "approval": "required"}},
		"webhook":  map[string]any{"provider": "github"}}
}

// pipelineCases are the role-matrix cases of the pipelines' routes
// (docs/pipelines.md, "Permissions"). Each acts on a pipeline of its own
// that admin applies first, with one queued run (no runner runs here).
func pipelineCases() map[string]routeCase {
	base := "/tenants/{tenant}/projects/{project}/pipelines"
	one := base + "/{pipeline}"
	run := one + "/runs/{run}"
	seeded := func(e *matrixEnv, tg authz.Scope, n string) string {
		p := pp(tg) + "/pipelines/" + n
		e.h.must(http.StatusOK, e.admin, "PUT", p, pipelineSpec())
		return p
	}
	withRun := func(e *matrixEnv, tg authz.Scope, n string) string {
		p := seeded(e, tg, n)
		e.h.must(http.StatusCreated, e.admin, "POST", p+"/runs", map[string]any{"ref": "refs/heads/main"})
		return p + "/runs/1"
	}
	return map[string]routeCase{
		"GET " + base: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/pipelines", nil, tg, authz.PipelineRead)
		}),
		"PUT " + one: at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			q := need(pp(tg)+"/pipelines/"+n, pipelineSpec(), tg, authz.PipelineWrite)
			q.ok = []int{http.StatusOK}
			return q
		}),
		"GET " + one: at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(seeded(e, tg, n), nil, tg, authz.PipelineRead)
		}),
		"DELETE " + one: at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			q := need(seeded(e, tg, n), nil, tg, authz.PipelineWrite)
			q.survives = e.exists(q.path)
			return q
		}),
		"POST " + one + "/runs": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(seeded(e, tg, n)+"/runs", map[string]any{"ref": "refs/heads/main"}, tg, authz.PipelineRun)
		}),
		"GET " + one + "/runs": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(seeded(e, tg, n)+"/runs", nil, tg, authz.PipelineRead)
		}),
		"GET " + run: at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(withRun(e, tg, n), nil, tg, authz.PipelineRead)
		}),
		"GET " + run + "/log": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return need(withRun(e, tg, n)+"/log", nil, tg, authz.PipelineRead)
		}),
		// The run is queued, not waiting: an allowed caller is refused by
		// its state (409), a refused one by its roles (403).
		"POST " + run + "/stages/{stage}/approve": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return stateful(need(withRun(e, tg, n)+"/stages/prod/approve", nil, tg, authz.PipelineApprove))
		}),
		"POST " + run + "/stages/{stage}/reject": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return stateful(need(withRun(e, tg, n)+"/stages/prod/reject", map[string]any{"reason": "no"}, tg, authz.PipelineApprove))
		}),
		"POST " + run + "/cancel": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return stateful(need(withRun(e, tg, n)+"/cancel", nil, tg, authz.PipelineRun))
		}),
		// A queued run has not failed: an allowed caller is refused by its
		// state (409), a refused one by its roles (403).
		"POST " + run + "/retry": at(onProject, func(e *matrixEnv, _ *subject, tg authz.Scope, n string) request {
			return stateful(need(withRun(e, tg, n)+"/retry", nil, tg, authz.PipelineRun))
		}),
	}
}
