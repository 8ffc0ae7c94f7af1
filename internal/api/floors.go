package api

import (
	"context"

	"net/http"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// registerGrantsAndFloors adds the namespace grants (which namespaces of
// a cluster a tenant's environments may use) and the approval floors.
func (a *API) registerGrantsAndFloors() {
	grants := "/clusters/{cluster}/namespace-grants"
	a.route(Route{Method: "GET", Path: grants, Summary: "List the namespace grants on a cluster", Response: "List[NamespaceGrant]"}, a.listClusterGrants)
	a.route(Route{Method: "PUT", Path: grants + "/{tenant}", Summary: "Grant a tenant namespaces of a cluster (a prefix and/or a list)",
		Request: "NamespaceGrant", Response: "NamespaceGrant"}, a.putNamespaceGrant)
	a.route(Route{Method: "DELETE", Path: grants + "/{tenant}", Summary: "Take a namespace grant back", Query: rvQuery, Response: "none"}, a.deleteNamespaceGrant)
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/namespace-grants", Summary: "List the namespace grants of a tenant",
		Response: "List[NamespaceGrant]"}, a.listTenantGrants)

	for _, base := range []string{"", "/tenants/{tenant}"} {
		a.route(Route{Method: "GET", Path: base + "/approval-floor", Summary: "The least approvals release orders need, by environment class",
			Response: "ApprovalFloor"}, a.getFloor)
		a.route(Route{Method: "PUT", Path: base + "/approval-floor", Summary: "Set the approval floor (a lowering waits for a second admin)",
			Request: "ApprovalFloor", Response: "ApprovalFloor"}, a.putFloor)
		a.route(Route{Method: "POST", Path: base + "/approval-floor/approve", Summary: "Approve another admin's lowering of the approval floor",
			Response: "ApprovalFloor"}, a.approveFloor)
		a.route(Route{Method: "POST", Path: base + "/approval-floor/withdraw", Summary: "Withdraw a pending change of the approval floor",
			Response: "ApprovalFloor"}, a.withdrawFloor)
	}
}

// platformReaders are who read platform-wide settings: platform-scope
// bindings that read tenants.
var platformReaders = authz.TenantScope("*")

func (a *API) listClusterGrants(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.TenantRead, platformReaders); err != nil {
		return err
	}
	return a.listNamespaceGrants(w, r, r.PathValue("cluster"), "")
}

func (a *API) listTenantGrants(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.TenantRead, scopeOf(r)); err != nil {
		return err
	}
	return a.listNamespaceGrants(w, r, "", r.PathValue("tenant"))
}

func (a *API) listNamespaceGrants(w http.ResponseWriter, r *http.Request, cluster, tenant string) error {
	var items []tenancy.NamespaceGrant
	err := a.view(r, func(tx platform.Tx) (err error) {
		items, err = a.p.Tenancy.ListNamespaceGrants(r.Context(), tx, cluster, tenant)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, resource.Page[tenancy.NamespaceGrant]{Items: items})
}

func (a *API) putNamespaceGrant(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ClusterUpdate, authz.Platform); err != nil {
		return err
	}
	var g tenancy.NamespaceGrant
	if err := decode(r, &g); err != nil {
		return err
	}
	g.Cluster, g.Tenant = r.PathValue("cluster"), r.PathValue("tenant")
	err := a.do(r, "namespacegrant.set", r.URL.Path, authz.TenantScope(g.Tenant), func(tx platform.Tx) (err error) {
		g, err = a.p.Tenancy.SetNamespaceGrant(r.Context(), tx, a.actor(r), g)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (a *API) deleteNamespaceGrant(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ClusterUpdate, authz.Platform); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	tenant := r.PathValue("tenant")
	err = a.do(r, "namespacegrant.delete", r.URL.Path, authz.TenantScope(tenant), func(tx platform.Tx) error {
		return a.p.Tenancy.DeleteNamespaceGrant(r.Context(), tx, a.actor(r), r.PathValue("cluster"), tenant, v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// floorScope is the scope of the floor the path names: the platform or a
// tenant, and the scope whose readers may read it.
func floorScope(r *http.Request) (set, read authz.Scope) {
	if t := r.PathValue("tenant"); t != "" {
		return authz.TenantScope(t), authz.TenantScope(t)
	}
	return authz.Platform, platformReaders
}

func (a *API) getFloor(w http.ResponseWriter, r *http.Request) error {
	_, read := floorScope(r)
	if err := a.authorize(r, authz.TenantRead, read); err != nil {
		return err
	}
	var f tenancy.ApprovalFloor
	err := a.view(r, func(tx platform.Tx) (err error) {
		f, err = a.p.Tenancy.GetApprovalFloor(r.Context(), tx, r.PathValue("tenant"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

func (a *API) putFloor(w http.ResponseWriter, r *http.Request) error {
	set, _ := floorScope(r)
	if err := a.authorize(r, authz.ApprovalFloorSet, set); err != nil {
		return err
	}
	var f tenancy.ApprovalFloor
	if err := decode(r, &f); err != nil {
		return err
	}
	c := tenancy.FloorChange{Default: f.Default, Environments: f.Environments}
	err := a.do(r, "approvalfloor.set", r.URL.Path, set, func(tx platform.Tx) (err error) {
		f, err = a.p.Tenancy.SetApprovalFloor(r.Context(), tx, a.actor(r), set.Tenant, c, f.ResourceVersion)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

func (a *API) approveFloor(w http.ResponseWriter, r *http.Request) error {
	return a.floorAction(w, r, "approvalfloor.approve", a.p.Tenancy.ApproveApprovalFloor)
}

func (a *API) withdrawFloor(w http.ResponseWriter, r *http.Request) error {
	return a.floorAction(w, r, "approvalfloor.withdraw", a.p.Tenancy.WithdrawApprovalFloor)
}

func (a *API) floorAction(w http.ResponseWriter, r *http.Request, action string,
	fn func(ctx context.Context, st tenancy.Store, a audit.Actor, tenant string) (tenancy.ApprovalFloor, error)) error {
	set, _ := floorScope(r)
	if err := a.authorize(r, authz.ApprovalFloorSet, set); err != nil {
		return err
	}
	var f tenancy.ApprovalFloor
	err := a.do(r, action, r.URL.Path, set, func(tx platform.Tx) (err error) {
		f, err = fn(r.Context(), tx, a.actor(r), set.Tenant)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}
