package api

import (
	"context"
	"net"
	"net/http"
	"strconv"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func (a *API) registerNetwork() {
	a.route(Route{Method: "GET", Path: "/clusters/{cluster}/ports", Summary: "A cluster's port pool: ports, allotted to tenants, used and free, as compact ranges", Response: "PortView"}, a.getClusterPorts)
	a.route(Route{Method: "PUT", Path: "/clusters/{cluster}/ports", Summary: "Set a cluster's port pool", Request: "PortsRequest", Response: "Grant"}, a.putGrant)
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/network/ports", Summary: "A tenant's ports on every cluster: granted, allotted to projects, used and free", Response: "List[PortView]"}, a.listPortViews)
	a.route(Route{Method: "PUT", Path: "/tenants/{tenant}/network/ports/{cluster}", Summary: "Grant a tenant ports of a cluster's pool (empty: take them back)", Request: "PortsRequest", Response: "Grant"}, a.putGrant)
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/projects/{project}/network/ports", Summary: "A project's ports on every cluster: granted, used and free, with who uses them", Response: "List[PortView]"}, a.listPortViews)
	a.route(Route{Method: "PUT", Path: "/tenants/{tenant}/projects/{project}/network/ports/{cluster}", Summary: "Grant a project ports of its tenant's (empty: take them back)", Request: "PortsRequest", Response: "Grant"}, a.putGrant)
	dep := "/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/ports/{port}"
	a.route(Route{Method: "PUT", Path: dep, Summary: "Expose an application port on a node port of its project's (the next free one unless nodePort is given)", Request: "ExposeRequest", Response: "Allocation"}, a.expose)
	a.route(Route{Method: "DELETE", Path: dep, Summary: "Stop exposing an application port; its node port returns to the pool", Response: "none"}, a.unexpose)

	for _, base := range []string{"/tenants/{tenant}", "/tenants/{tenant}/projects/{project}"} {
		a.route(Route{Method: "GET", Path: base + "/network/bandwidth", Summary: "Bandwidth limits, use (instances x per-instance bandwidth) and, for a tenant, what its projects are allotted", Response: "BandwidthView"}, a.getBandwidth)
		a.route(Route{Method: "PUT", Path: base + "/network/bandwidth", Summary: "Set the ingress and egress bandwidth limits of a quota (0: unlimited), keeping its other limits", Request: "Bandwidth", Response: "BandwidthView"}, a.putBandwidth)
	}
	a.route(Route{Method: "GET", Path: "/network/isolation", Summary: "The isolation of every tenant and project the caller may see: the one view it is switched from", Response: "List[Isolation]"}, a.listIsolation)
	for _, base := range []string{"/tenants/{tenant}", "/tenants/{tenant}/projects/{project}"} {
		a.route(Route{Method: "GET", Path: base + "/network/isolation", Summary: "The isolation level and allow rules of a tenant or project", Response: "Isolation"}, a.getIsolation)
		a.route(Route{Method: "PUT", Path: base + "/network/isolation", Summary: "Switch the isolation of a tenant or project (resourceVersion: the one read, 0 if never set)", Request: "Isolation", Response: "Isolation"}, a.putIsolation)
	}
}

func (a *API) getClusterPorts(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.NetworkRead, authz.Platform); err != nil {
		return err
	}
	var v netasset.PortView
	err := a.view(r, func(tx platform.Tx) (err error) {
		v, err = a.p.Network.View(r.Context(), tx, r.PathValue("cluster"), "", "")
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) listPortViews(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.NetworkRead, s); err != nil {
		return err
	}
	var vs []netasset.PortView
	err := a.view(r, func(tx platform.Tx) (err error) {
		vs, err = a.p.Network.Views(r.Context(), tx, s.Tenant, s.Project)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, resource.Page[netasset.PortView]{Items: vs})
}

func (a *API) putGrant(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	perm := authz.PortPoolSet
	if s.Project != "" {
		perm = authz.ProjectPortsSet
	}
	if err := a.authorize(r, perm, s); err != nil {
		return err
	}
	var req apitypes.PortsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	set, err := netasset.ParsePorts(req.Ports)
	if err != nil {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "ports", Reason: err.Error()}}}
	}
	g := netasset.Grant{Cluster: r.PathValue("cluster"), Tenant: s.Tenant, Project: s.Project, Ports: set, ResourceVersion: req.ResourceVersion}
	err = a.do(r, "ports.set", r.URL.Path, s, func(tx platform.Tx) error {
		g, err = a.p.Network.SetGrant(r.Context(), tx, a.actor(r), g)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (a *API) expose(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.NetworkExpose, s); err != nil {
		return err
	}
	var req apitypes.ExposeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	k := deploymentKey(r)
	e := netasset.Exposure{Tenant: k.Tenant, Project: k.Project, Application: k.Application, Environment: k.Environment,
		PortName: r.PathValue("port"), NodePort: req.NodePort}
	var al netasset.Allocation
	err := a.do(r, "ports.expose", r.URL.Path, s, func(tx platform.Tx) (err error) {
		al, err = a.p.Network.Expose(r.Context(), tx, a.actor(r), e)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, al)
}

func (a *API) unexpose(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.NetworkExpose, s); err != nil {
		return err
	}
	err := a.do(r, "ports.release", r.URL.Path, s, func(tx platform.Tx) error {
		return a.p.Network.Unexpose(r.Context(), tx, a.actor(r), deploymentKey(r), r.PathValue("port"))
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getBandwidth(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.QuotaRead, s); err != nil {
		return err
	}
	var v netasset.BandwidthView
	err := a.view(r, func(tx platform.Tx) (err error) {
		v, err = a.p.Network.Bandwidth(r.Context(), tx, tscope(s))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) putBandwidth(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	perm := authz.TenantQuotaSet
	if s.Project != "" {
		perm = authz.ProjectQuotaSet
	}
	if err := a.authorize(r, perm, s); err != nil {
		return err
	}
	var b apps.Bandwidth
	if err := decode(r, &b); err != nil {
		return err
	}
	var v netasset.BandwidthView
	err := a.do(r, "quota.set", r.URL.Path, s, func(tx platform.Tx) (err error) {
		v, err = a.p.Network.SetBandwidth(r.Context(), tx, a.actor(r), tscope(s), b)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) listIsolation(w http.ResponseWriter, r *http.Request) error {
	decide(r) // filtered by the caller's bindings
	p := principalOf(r)
	var out []netasset.Isolation
	err := a.view(r, func(tx platform.Tx) error {
		all, err := a.p.Network.ListIsolations(r.Context(), tx, "")
		for _, i := range all {
			if authz.Allowed(p.bindings, authz.NetworkRead, authz.Scope{Tenant: i.Tenant, Project: i.Project}) {
				out = append(out, i)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, resource.Page[netasset.Isolation]{Items: out})
}

func (a *API) getIsolation(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.NetworkRead, s); err != nil {
		return err
	}
	var i netasset.Isolation
	err := a.view(r, func(tx platform.Tx) (err error) {
		i, err = a.p.Network.GetIsolation(r.Context(), tx, s.Tenant, s.Project)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, i)
}

func (a *API) putIsolation(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.IsolationSet, s); err != nil {
		return err
	}
	var i netasset.Isolation
	if err := decode(r, &i); err != nil {
		return err
	}
	if (i.Tenant != "" && i.Tenant != s.Tenant) || (i.Project != "" && i.Project != s.Project) {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "tenant", Reason: "must match the path or be empty"}}}
	}
	i.Tenant, i.Project = s.Tenant, s.Project
	err := a.do(r, "isolation.set", r.URL.Path, s, func(tx platform.Tx) (err error) {
		i, err = a.p.Network.SetIsolation(r.Context(), tx, a.actor(r), i)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, i)
}

// addresses are a deployment's internal address and the node port of its
// first exposed port (0: none), read in the caller's transaction.
type addresses struct {
	internal string
	nodePort int
}

func serviceAddresses(ctx context.Context, tx platform.Tx, env tenancy.Environment, d deploy.Deployment) addresses {
	out := addresses{internal: serviceAddress(ctx, tx, env, d)}
	held, err := tx.ListAllocations(ctx, netasset.AllocationFilter{Tenant: d.Tenant, Project: d.Project,
		Application: d.Application, Environment: d.Environment})
	if err == nil && len(held) > 0 {
		out.nodePort = held[0].Port
	}
	return out
}

// externalAddress is "nodeIP:nodePort": the address of the node of the
// first pod (any node when none runs yet), or "" when nothing is exposed.
func (a *API) externalAddress(env tenancy.Environment, st kube.Status, nodePort int) string {
	if nodePort == 0 {
		return ""
	}
	conn, err := a.live.Ready(env.Cluster)
	if err != nil || conn.Watcher == nil {
		return ""
	}
	node := ""
	if len(st.Pods) > 0 {
		node = st.Pods[0].Node
	}
	ip := conn.Watcher.NodeAddress(node)
	if ip == "" {
		return ""
	}
	return net.JoinHostPort(ip, strconv.Itoa(nodePort))
}
