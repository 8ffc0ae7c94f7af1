package api

import (
	"net/http"

	"berth.dev/berth/internal/authz"
)

// storeCases are the role-matrix cases of the app store's routes
// (docs/app-store.md, "Permissions"). The harness has no chart renderer:
// an allowed caller's install or upgrade is refused by the server's state
// (409) after every permission was checked, a refused caller by its roles
// (403); an allowed uninstall of an install that does not exist is 404.
func storeCases() map[string]routeCase {
	proj := "/tenants/{tenant}/projects/{project}"
	body := map[string]any{"environment": "dev", "name": "cache", "catalog": "starter", "chart": "redis", "version": "1.0.0"}
	status := func(q request, codes ...int) request {
		q.ok = codes
		return q
	}
	return map[string]routeCase{
		"GET /store/charts": at(onPlatform, func(*matrixEnv, *subject, authz.Scope, string) request {
			return ownAccount("/store/charts", nil)
		}),
		"GET " + proj + "/installs": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return need(pp(tg)+"/installs", nil, tg, authz.DeploymentRead)
		}),
		"POST " + proj + "/installs": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return status(need(pp(tg)+"/installs", body, tg, authz.ApplicationCreate, authz.VersionCreate, authz.DeploymentDeploy), http.StatusConflict)
		}),
		"PUT " + proj + "/installs/{name}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return status(need(pp(tg)+"/installs/cache", body, tg, authz.VersionCreate, authz.DeploymentDeploy), http.StatusConflict)
		}),
		"DELETE " + proj + "/environments/{environment}/installs/{name}": at(onProject, func(_ *matrixEnv, _ *subject, tg authz.Scope, _ string) request {
			return status(need(pp(tg)+"/environments/dev/installs/cache", nil, tg, authz.DeploymentDelete), http.StatusNotFound)
		}),
	}
}
