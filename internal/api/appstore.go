package api

import (
	"net/http"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/platform"
)

// The app store (docs/app-store.md): the catalogues' charts, and a
// project's installs.
func (a *API) registerStore() {
	proj := "/tenants/{tenant}/projects/{project}"
	a.route(Route{Method: "GET", Path: "/store/charts", Summary: "List the charts of the app store's catalogues", Response: "StoreCharts"}, a.listStoreCharts)
	a.route(Route{Method: "GET", Path: proj + "/installs", Summary: "List a project's app-store installs (deployments of chart versions)", Response: "Installs"}, a.listInstalls)
	a.route(Route{Method: "POST", Path: proj + "/installs", Summary: "Install a chart: render it for the environment's cluster, check the project's quota, " +
		"create the application and its version r1 and deploy it", Request: "InstallRequest", Response: "Version"}, a.installChart)
	a.route(Route{Method: "PUT", Path: proj + "/installs/{name}", Summary: "Upgrade an install: render its next chart version and deploy it " +
		"(versionOnly: only create it, for a release order)", Request: "InstallRequest", Response: "Version"}, a.upgradeChart)
	a.route(Route{Method: "DELETE", Path: proj + "/environments/{environment}/installs/{name}", Summary: "Uninstall: remove the install's deployment " +
		"and every object it applied; its application and versions stay; the chart's CustomResourceDefinitions too only with deleteCRDs=true (platform admins)",
		Response: "none", Query: []string{"deleteCRDs"}}, a.uninstallChart)
}

func (a *API) listStoreCharts(w http.ResponseWriter, r *http.Request) error {
	decide(r) // any signed-in caller browses the catalogues
	out, err := a.p.StoreEntries(r.Context(), a.caller(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(out))
}

func (a *API) listInstalls(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.DeploymentRead, s); err != nil {
		return err
	}
	list, err := a.p.Installs(r.Context(), a.caller(r), s.Tenant, s.Project)
	if err != nil {
		return err
	}
	out := make([]apitypes.Install, 0, len(list))
	for _, in := range list {
		out = append(out, apitypes.Install{Deployment: in.Deployment, Chart: in.Chart})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) installChart(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ApplicationCreate, s); err != nil {
		return err
	}
	var req apitypes.InstallRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	v, err := a.p.InstallChart(r.Context(), a.caller(r), installOf(s, req))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) upgradeChart(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.VersionCreate, s); err != nil {
		return err
	}
	var req apitypes.InstallRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	req.Name = r.PathValue("name")
	v, err := a.p.UpgradeChart(r.Context(), a.caller(r), installOf(s, req), platform.InstallOptions{VersionOnly: req.VersionOnly})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) uninstallChart(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.DeploymentDelete, s); err != nil {
		return err
	}
	k := deploy.Key{Tenant: s.Tenant, Project: s.Project, Environment: r.PathValue("environment"), Application: r.PathValue("name")}
	opt := platform.UninstallOptions{DeleteCRDs: r.URL.Query().Get("deleteCRDs") == "true"}
	if err := a.p.UninstallChart(r.Context(), a.caller(r), k, opt); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func installOf(s authz.Scope, req apitypes.InstallRequest) appstore.Install {
	return appstore.Install{Tenant: s.Tenant, Project: s.Project, Environment: req.Environment, Name: req.Name,
		Catalog: req.Catalog, Chart: req.Chart, Version: req.Version, Values: req.Values, AllowCRDs: req.AllowCRDs}
}
