package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// probeTimeout bounds the check of a new kubeconfig's API server, made
// before the cluster is registered.
const probeTimeout = 5 * time.Second

// checkKubeconfig refuses a kubeconfig that does not parse (a field error
// at kubeconfig) and otherwise says whether its API server answers. An
// unreachable cluster is registered all the same, shown as Unknown with
// the reason: it may be reachable later (a firewall opened after), and the
// connection controller keeps trying.
func (a *API) checkKubeconfig(ctx context.Context, kubeconfig string) (*apitypes.ClusterStatus, error) {
	if kubeconfig == "" {
		return nil, nil // required or not: the domain says
	}
	if err := kube.CheckKubeconfig([]byte(kubeconfig)); err != nil {
		return nil, err
	}
	if err := kube.Probe(ctx, []byte(kubeconfig), probeTimeout); err != nil {
		return &apitypes.ClusterStatus{Phase: "Unknown", Reason: "the API server does not answer: " + err.Error()}, nil
	}
	return &apitypes.ClusterStatus{Phase: "Ready"}, nil
}

// clusterStatus is the live status of a registered cluster, or nil
// without a view of the clusters.
func (a *API) clusterStatus(name string) *apitypes.ClusterStatus {
	if a.live == nil {
		return nil
	}
	_, err := a.live.Ready(name)
	switch {
	case err == nil:
		return &apitypes.ClusterStatus{Phase: "Ready"}
	case errors.Is(err, kube.ErrUnknownCluster):
		return &apitypes.ClusterStatus{Phase: "Unknown", Reason: "not connected yet"}
	}
	return &apitypes.ClusterStatus{Phase: "Unknown", Reason: err.Error()}
}

func (a *API) registerClusters() {
	a.route(Route{Method: "GET", Path: "/clusters", Summary: "List registered clusters and whether Berth reaches each", Query: pageQuery, Response: "List[ClusterView]"}, a.listClusters)
	a.route(Route{Method: "POST", Path: "/clusters", Summary: "Register a cluster with its kubeconfig (refused unless it parses; status Unknown with the reason when its API server does not answer)", Request: "ClusterRequest", Response: "ClusterView"}, a.registerCluster)
	a.route(Route{Method: "GET", Path: "/clusters/{cluster}", Summary: "Get a cluster (never its kubeconfig) and whether Berth reaches it", Response: "ClusterView"}, a.getCluster)
	a.route(Route{Method: "PUT", Path: "/clusters/{cluster}", Summary: "Update a cluster; a non-empty kubeconfig replaces the stored one (resourceVersion required)",
		Request: "ClusterRequest", Response: "ClusterView"}, a.updateCluster)
	a.route(Route{Method: "DELETE", Path: "/clusters/{cluster}", Summary: "Deregister a cluster no environment uses", Query: rvQuery, Response: "none"}, a.deleteCluster)
}

func (a *API) listClusters(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ClusterRead, authz.Platform); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[tenancy.Cluster]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Tenancy.ListClusters(r.Context(), tx, o)
		return err
	})
	if err != nil {
		return err
	}
	views := resource.Page[apitypes.ClusterView]{Continue: page.Continue, Items: make([]apitypes.ClusterView, len(page.Items))}
	for i, c := range page.Items {
		views.Items[i] = apitypes.ClusterView{Cluster: c, Status: a.clusterStatus(c.Name)}
	}
	return writePage(w, views)
}

func (a *API) registerCluster(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ClusterCreate, authz.Platform); err != nil {
		return err
	}
	var req apitypes.ClusterRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	status, err := a.checkKubeconfig(r.Context(), req.Kubeconfig)
	if err != nil {
		return err
	}
	var c tenancy.Cluster
	err = a.do(r, "cluster.register", "clusters/"+req.Name, authz.Platform, func(tx platform.Tx) error {
		var err error
		c, err = a.p.Tenancy.RegisterCluster(r.Context(), tx, a.actor(r), req.Cluster, []byte(req.Kubeconfig))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, apitypes.ClusterView{Cluster: c, Status: status})
}

func (a *API) getCluster(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ClusterRead, authz.Platform); err != nil {
		return err
	}
	var c tenancy.Cluster
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		c, err = a.p.Tenancy.GetCluster(r.Context(), tx, r.PathValue("cluster"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.ClusterView{Cluster: c, Status: a.clusterStatus(c.Name)})
}

func (a *API) updateCluster(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ClusterUpdate, authz.Platform); err != nil {
		return err
	}
	var req apitypes.ClusterRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	req.Name = r.PathValue("cluster")
	status, err := a.checkKubeconfig(r.Context(), req.Kubeconfig)
	if err != nil {
		return err
	}
	var c tenancy.Cluster
	err = a.do(r, "cluster.update", "clusters/"+req.Name, authz.Platform, func(tx platform.Tx) error {
		var err error
		c, err = a.p.Tenancy.UpdateCluster(r.Context(), tx, a.actor(r), req.Cluster, []byte(req.Kubeconfig))
		return err
	})
	if err != nil {
		return err
	}
	if status == nil {
		status = a.clusterStatus(c.Name)
	}
	return writeJSON(w, http.StatusOK, apitypes.ClusterView{Cluster: c, Status: status})
}

func (a *API) deleteCluster(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ClusterDelete, authz.Platform); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	name := r.PathValue("cluster")
	err = a.do(r, "cluster.deregister", "clusters/"+name, authz.Platform, func(tx platform.Tx) error {
		return a.p.Tenancy.DeregisterCluster(r.Context(), tx, a.actor(r), name, v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) registerApps() {
	base := "/tenants/{tenant}/projects/{project}/applications"
	a.route(Route{Method: "GET", Path: base, Summary: "List the applications of a project", Query: pageQuery, Response: "List[Application]"}, a.listApplications)
	a.route(Route{Method: "POST", Path: base, Summary: "Create an application", Request: "Application", Response: "Application"}, a.createApplication)
	a.route(Route{Method: "GET", Path: base + "/{app}", Summary: "Get an application", Response: "Application"}, a.getApplication)
	a.route(Route{Method: "PUT", Path: base + "/{app}", Summary: "Update an application (resourceVersion required)", Request: "Application", Response: "Application"}, a.updateApplication)
	a.route(Route{Method: "DELETE", Path: base + "/{app}", Summary: "Delete an application and release its quota", Query: rvQuery, Response: "none"}, a.deleteApplication)
	a.route(Route{Method: "GET", Path: base + "/{app}/versions", Summary: "List an application's versions", Query: pageQuery, Response: "List[Version]"}, a.listVersions)
	a.route(Route{Method: "POST", Path: base + "/{app}/versions", Summary: "Create an immutable version; ?activate=true makes it current",
		Query: []string{"activate"}, Request: "Version", Response: "Version"}, a.createVersion)
	a.route(Route{Method: "PUT", Path: base + "/{app}/current-version", Summary: "Make an existing version current (re-deploy it), reserving its quota",
		Request: "CurrentVersion", Response: "Application"}, a.setCurrentVersion)
	a.route(Route{Method: "GET", Path: base + "/{app}/versions/{version}", Summary: "Get a version", Response: "Version"}, a.getVersion)

	a.route(Route{Method: "GET", Path: "/tiers", Summary: "List resource tiers", Query: pageQuery, Response: "List[Tier]"}, a.listTiers)
	a.route(Route{Method: "POST", Path: "/tiers", Summary: "Create a resource tier", Request: "Tier", Response: "Tier"}, a.createTier)
	a.route(Route{Method: "GET", Path: "/tiers/{tier}", Summary: "Get a resource tier", Response: "Tier"}, a.getTier)
	a.route(Route{Method: "PUT", Path: "/tiers/{tier}", Summary: "Update a resource tier (resourceVersion required)", Request: "Tier", Response: "Tier"}, a.updateTier)
	a.route(Route{Method: "DELETE", Path: "/tiers/{tier}", Summary: "Delete a resource tier", Query: rvQuery, Response: "none"}, a.deleteTier)
}

func (a *API) listApplications(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ApplicationRead, s); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[apps.Application]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Apps.ListApplications(r.Context(), tx, s.Tenant, s.Project, o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) createApplication(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ApplicationCreate, s); err != nil {
		return err
	}
	var app apps.Application
	if err := decode(r, &app); err != nil {
		return err
	}
	app.Tenant, app.Project = s.Tenant, s.Project
	err := a.do(r, "application.create", r.URL.Path+"/"+app.Name, s, func(tx platform.Tx) error {
		var err error
		app, err = a.p.Apps.CreateApplication(r.Context(), tx, a.actor(r), app)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, app)
}

func (a *API) getApplication(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ApplicationRead, s); err != nil {
		return err
	}
	var app apps.Application
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		app, err = a.p.Apps.GetApplication(r.Context(), tx, s.Tenant, s.Project, r.PathValue("app"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

func (a *API) updateApplication(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ApplicationUpdate, s); err != nil {
		return err
	}
	var app apps.Application
	if err := decode(r, &app); err != nil {
		return err
	}
	app.Tenant, app.Project, app.Name = s.Tenant, s.Project, r.PathValue("app")
	err := a.do(r, "application.update", r.URL.Path, s, func(tx platform.Tx) error {
		var err error
		app, err = a.p.Apps.UpdateApplication(r.Context(), tx, a.actor(r), app)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

func (a *API) deleteApplication(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ApplicationDelete, s); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	err = a.do(r, "application.delete", r.URL.Path, s, func(tx platform.Tx) error {
		return a.p.Apps.DeleteApplication(r.Context(), tx, a.actor(r), s.Tenant, s.Project, r.PathValue("app"), v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listVersions(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.VersionRead, s); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[apps.Version]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Apps.ListVersions(r.Context(), tx, s.Tenant, s.Project, r.PathValue("app"), o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) createVersion(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.VersionCreate, s); err != nil {
		return err
	}
	var v apps.Version
	if err := decode(r, &v); err != nil {
		return err
	}
	v.Tenant, v.Project, v.Application = s.Tenant, s.Project, r.PathValue("app")
	activate, _ := strconv.ParseBool(r.URL.Query().Get("activate"))
	opt := apps.VersionOptions{Activate: activate, AllowRawResources: authz.IsPlatformAdmin(principalOf(r).bindings)}
	err := a.do(r, "version.create", r.URL.Path+"/"+v.Name, s, func(tx platform.Tx) error {
		var err error
		v, err = a.p.Apps.CreateVersion(r.Context(), tx, a.actor(r), v, opt)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (a *API) setCurrentVersion(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.VersionCreate, s); err != nil {
		return err
	}
	var req apitypes.CurrentVersion
	if err := decode(r, &req); err != nil {
		return err
	}
	name := r.PathValue("app")
	var app apps.Application
	err := a.do(r, "application.set-version", r.URL.Path, s, func(tx platform.Tx) error {
		var err error
		app, err = a.p.Apps.SetCurrentVersion(r.Context(), tx, a.actor(r), s.Tenant, s.Project, name, req.Version, req.ResourceVersion)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, app)
}

func (a *API) getVersion(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.VersionRead, s); err != nil {
		return err
	}
	var v apps.Version
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		v, err = a.p.Apps.GetVersion(r.Context(), tx, s.Tenant, s.Project, r.PathValue("app"), r.PathValue("version"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) listTiers(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.TierRead, authz.Platform); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[apps.Tier]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Apps.ListTiers(r.Context(), tx, o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) createTier(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.TierCreate, authz.Platform); err != nil {
		return err
	}
	var t apps.Tier
	if err := decode(r, &t); err != nil {
		return err
	}
	err := a.do(r, "tier.create", "tiers/"+t.Name, authz.Platform, func(tx platform.Tx) error {
		var err error
		t, err = a.p.Apps.CreateTier(r.Context(), tx, a.actor(r), t)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (a *API) getTier(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.TierRead, authz.Platform); err != nil {
		return err
	}
	var t apps.Tier
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		t, err = a.p.Apps.GetTier(r.Context(), tx, r.PathValue("tier"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (a *API) updateTier(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.TierUpdate, authz.Platform); err != nil {
		return err
	}
	var t apps.Tier
	if err := decode(r, &t); err != nil {
		return err
	}
	t.Name = r.PathValue("tier")
	err := a.do(r, "tier.update", "tiers/"+t.Name, authz.Platform, func(tx platform.Tx) error {
		var err error
		t, err = a.p.Apps.UpdateTier(r.Context(), tx, a.actor(r), t)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (a *API) deleteTier(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.TierDelete, authz.Platform); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	name := r.PathValue("tier")
	err = a.do(r, "tier.delete", "tiers/"+name, authz.Platform, func(tx platform.Tx) error {
		return a.p.Apps.DeleteTier(r.Context(), tx, a.actor(r), name, v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
