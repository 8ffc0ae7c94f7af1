package api

import (
	"net/http"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
)

// SLOs (docs/observability.md): a project's service level objectives and
// their error budgets.
func (a *API) registerSLOs() {
	proj := "/tenants/{tenant}/projects/{project}"
	a.route(Route{Method: "GET", Path: proj + "/slos", Summary: "List a project's SLOs", Response: "SLOs"}, a.listSLOs)
	a.route(Route{Method: "GET", Path: proj + "/slos/{name}", Summary: "Read an SLO", Response: "SLO"}, a.getSLO)
	a.route(Route{Method: "PUT", Path: proj + "/slos/{name}", Summary: "Create or replace an SLO (availability or latency objective over a window); " +
		"its burn-rate alerts go to the project's receivers", Request: "SLO", Response: "SLO"}, a.putSLO)
	a.route(Route{Method: "DELETE", Path: proj + "/slos/{name}", Summary: "Delete an SLO", Response: "none"}, a.deleteSLO)
	a.route(Route{Method: "GET", Path: proj + "/slos/{name}/budget", Summary: "Read an SLO's error ratio over its window and the error budget left, from Prometheus",
		Response: "SLOBudget"}, a.sloBudget)
}

func (a *API) listSLOs(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	out, err := a.p.ListSLOs(r.Context(), a.caller(r), s.Tenant, s.Project)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(out))
}

func (a *API) getSLO(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	out, err := a.p.GetSLO(r.Context(), a.caller(r), s.Tenant, s.Project, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) putSLO(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertWrite, s); err != nil {
		return err
	}
	var in apitypes.SLO
	if err := decode(r, &in); err != nil {
		return err
	}
	in.Tenant, in.Project, in.Name = s.Tenant, s.Project, r.PathValue("name")
	out, _, err := a.p.PutSLO(r.Context(), a.caller(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteSLO(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertWrite, s); err != nil {
		return err
	}
	if err := a.p.DeleteSLO(r.Context(), a.caller(r), s.Tenant, s.Project, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) sloBudget(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	out, err := a.p.SLOBudget(r.Context(), a.caller(r), s.Tenant, s.Project, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
