package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Live is the clusters as the API sees them: whether one answers, the live
// status of applications, their recent events, and a stream of changes.
// kube.Registry implements it.
type Live interface {
	Ready(cluster string) (*kube.Conn, error)
	AwaitReady(ctx context.Context, cluster string, limit time.Duration) (*kube.Conn, error)
	Status(cluster string, key kube.AppKey) kube.Status
	Subscribe(ctx context.Context) <-chan kube.Change
}

func (a *API) registerDeployments() {
	base := "/tenants/{tenant}/projects/{project}/environments/{environment}/deployments"
	a.route(Route{Method: "GET", Path: base, Summary: "List the deployments of an environment with their live status; ?watch=true streams changes (server-sent events)",
		Query: append([]string{"watch"}, pageQuery...), Response: "List[DeploymentView]", Events: true}, a.listDeployments)
	a.route(Route{Method: "GET", Path: base + "/{app}", Summary: "Get a deployment with its live status, pods and recent events", Response: "DeploymentView"}, a.getDeployment)
	a.route(Route{Method: "PUT", Path: base + "/{app}", Summary: "Deploy a version of the application to the environment", Request: "DeployRequest", Response: "DeploymentView"}, a.deploy)
	a.route(Route{Method: "DELETE", Path: base + "/{app}", Summary: "Remove the application from the environment", Response: "DeploymentView", Status: http.StatusAccepted}, a.undeploy)
	a.route(Route{Method: "POST", Path: base + "/{app}/scale", Summary: "Set the replica count", Request: "ScaleRequest", Response: "DeploymentView", Status: http.StatusOK}, a.scale)
	for _, op := range []string{"stop", "start", "restart"} {
		a.route(Route{Method: "POST", Path: base + "/{app}/" + op, Summary: opSummary[op], Response: "DeploymentView"}, a.operation(op))
	}
}

var opSummary = map[string]string{
	"stop":    "Scale to zero, remembering the replica count",
	"start":   "Run a stopped deployment again",
	"restart": "Replace every pod, a few at a time",
}

func deploymentKey(r *http.Request) deploy.Key {
	return deploy.Key{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"),
		Application: r.PathValue("app"), Environment: r.PathValue("environment")}
}

// environment reads the environment the request addresses.
func (a *API) environment(r *http.Request) (tenancy.Environment, error) {
	var env tenancy.Environment
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		env, err = tx.GetEnvironment(r.Context(), r.PathValue("tenant"), r.PathValue("project"), r.PathValue("environment"))
		return err
	})
	return env, err
}

// reachable refuses at once, with the cluster named, a change to an
// environment whose cluster does not answer, rather than queueing it. Just
// after the server started it first waits (up to 10 s) for Berth's own
// first connection to the cluster.
func (a *API) reachable(ctx context.Context, env tenancy.Environment) error {
	if a.live == nil {
		return nil
	}
	if _, err := a.live.AwaitReady(ctx, env.Cluster, 10*time.Second); err != nil {
		return &clusterError{cluster: env.Cluster, err: err}
	}
	return nil
}

type clusterError struct {
	cluster string
	err     error
}

func (e *clusterError) Error() string { return fmt.Sprintf("cluster %s: %v", e.cluster, e.err) }
func (e *clusterError) Unwrap() error { return e.err }

// view1 joins a deployment with its live status; addr is its internal
// address (serviceAddress, read in the caller's transaction).
func (a *API) view1(env tenancy.Environment, d deploy.Deployment, addr addresses) apitypes.DeploymentView {
	v := apitypes.DeploymentView{Deployment: d, Status: kube.Status{Phase: kube.PhaseUnknown, Reason: "NotConnected", Pods: []kube.PodStatus{}},
		InternalAddress: addr.internal}
	if a.live != nil {
		v.Status = a.live.Status(env.Cluster, kube.AppKey{Namespace: env.Namespace, App: d.Application})
		v.ExternalAddress = a.externalAddress(env, v.Status, addr.nodePort)
	}
	return v
}

// serviceAddress is the in-cluster DNS name and first port of the
// application's Service, or "" when its version serves no port.
func serviceAddress(ctx context.Context, tx platform.Tx, env tenancy.Environment, d deploy.Deployment) string {
	ver, err := tx.GetVersion(ctx, d.Tenant, d.Project, d.Application, d.Version)
	if err != nil || len(ver.Orchestration.Ports) == 0 {
		return ""
	}
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", d.Application, env.Namespace, ver.Orchestration.Ports[0].ContainerPort)
}

func (a *API) listDeployments(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.DeploymentRead, s); err != nil {
		return err
	}
	env, err := a.environment(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("watch") == "true" {
		return a.watchDeployments(w, r, env)
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	views, next, err := a.deploymentViews(r, env, o)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.List[apitypes.DeploymentView]{Items: views, Continue: next})
}

func (a *API) deploymentViews(r *http.Request, env tenancy.Environment, o resource.ListOptions) ([]apitypes.DeploymentView, string, error) {
	after, err := o.After()
	if err != nil {
		return nil, "", err
	}
	limit := o.PageLimit()
	var ds []deploy.Deployment
	var addrs []addresses
	next := ""
	err = a.view(r, func(tx platform.Tx) error {
		f := deploy.Filter{Tenant: env.Tenant, Project: env.Project, Environment: env.Name}
		ds, err = tx.ListDeployments(r.Context(), f, after, limit+1)
		if err != nil {
			return err
		}
		if len(ds) > limit {
			ds = ds[:limit]
			last := ds[len(ds)-1]
			next = resource.EncodeContinue(last.Application + "/" + last.Environment)
		}
		for _, d := range ds {
			addrs = append(addrs, serviceAddresses(r.Context(), tx, env, d))
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	views := make([]apitypes.DeploymentView, 0, len(ds))
	for i, d := range ds {
		views = append(views, a.view1(env, d, addrs[i]))
	}
	return views, next, nil
}

// watchDeployments streams the environment's deployments as server-sent
// events: first every deployment ("event: status"), then each one whose live
// state changes, and every 15 s a full resync in case changes were missed.
func (a *API) watchDeployments(w http.ResponseWriter, r *http.Request, env tenancy.Environment) error {
	if a.live == nil {
		return errNotFound
	}
	rc := startEventStream(w)
	ctx := r.Context()
	changes := a.live.Subscribe(ctx)
	send := func(v apitypes.DeploymentView) error { return sendEvent(w, rc, "status", v) }
	resync := func() error {
		views, _, err := a.deploymentViews(r, env, resource.ListOptions{Limit: resource.MaxLimit})
		if err != nil {
			return err
		}
		for _, v := range views {
			if err := send(v); err != nil {
				return err
			}
		}
		return nil
	}
	if err := resync(); err != nil {
		return nil // the client went away or the listing failed; the stream ends
	}
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := resync(); err != nil {
				return nil
			}
		case c, ok := <-changes:
			if !ok {
				return nil
			}
			if c.Cluster != env.Cluster || (c.App != kube.AppKey{} && c.App.Namespace != env.Namespace) {
				continue
			}
			if c.App == (kube.AppKey{}) {
				if err := resync(); err != nil {
					return nil
				}
				continue
			}
			var d deploy.Deployment
			var addr addresses
			err := a.view(r, func(tx platform.Tx) error {
				var err error
				if d, err = tx.GetDeployment(ctx, deploy.Key{Tenant: env.Tenant, Project: env.Project, Application: c.App.App, Environment: env.Name}); err != nil {
					return err
				}
				addr = serviceAddresses(ctx, tx, env, d)
				return nil
			})
			if errors.Is(err, resource.ErrNotFound) {
				continue
			}
			if err != nil || send(a.view1(env, d, addr)) != nil {
				return nil
			}
		}
	}
}

func (a *API) getDeployment(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.DeploymentRead, scopeOf(r)); err != nil {
		return err
	}
	env, err := a.environment(r)
	if err != nil {
		return err
	}
	var d deploy.Deployment
	var addr addresses
	err = a.view(r, func(tx platform.Tx) error {
		var err error
		if d, err = tx.GetDeployment(r.Context(), deploymentKey(r)); err != nil {
			return err
		}
		addr = serviceAddresses(r.Context(), tx, env, d)
		return nil
	})
	if err != nil {
		return err
	}
	v := a.view1(env, d, addr)
	if a.live != nil {
		if conn, err := a.live.Ready(env.Cluster); err == nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if v.Events, err = conn.Events(ctx, kube.AppKey{Namespace: env.Namespace, App: d.Application}, 20); err != nil {
				v.EventsError = a.partialError(r, i18n.EventsUnavailable, err)
			}
		}
	}
	return writeJSON(w, http.StatusOK, v)
}

// change runs a deployment change after checking the cluster answers.
func (a *API) change(w http.ResponseWriter, r *http.Request, perm authz.Permission, action string, code int,
	fn func(ctx context.Context, tx platform.Tx, k deploy.Key) (deploy.Deployment, error)) error {
	s := scopeOf(r)
	if err := a.authorize(r, perm, s); err != nil {
		return err
	}
	env, err := a.environment(r)
	if err != nil {
		return err
	}
	if err := a.reachable(r.Context(), env); err != nil {
		return err
	}
	k := deploymentKey(r)
	var d deploy.Deployment
	var addr addresses
	err = a.do(r, action, k.Path(), s, func(tx platform.Tx) error {
		var err error
		if d, err = fn(r.Context(), tx, k); err != nil {
			return err
		}
		addr = serviceAddresses(r.Context(), tx, env, d)
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, code, a.view1(env, d, addr))
}

func (a *API) deploy(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.DeploymentDeploy, scopeOf(r)); err != nil {
		return err // before reading the body: a refused caller learns nothing from it
	}
	var req apitypes.DeployRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return a.change(w, r, authz.DeploymentDeploy, "deployment.deploy", http.StatusOK, func(ctx context.Context, tx platform.Tx, k deploy.Key) (deploy.Deployment, error) {
		return a.p.DeployVersion(ctx, tx, a.caller(r), k, req.Version)
	})
}

func (a *API) scale(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.DeploymentOperate, scopeOf(r)); err != nil {
		return err // before reading the body: a refused caller learns nothing from it
	}
	var req apitypes.ScaleRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return a.change(w, r, authz.DeploymentOperate, "deployment.scale", http.StatusOK, func(ctx context.Context, tx platform.Tx, k deploy.Key) (deploy.Deployment, error) {
		return a.p.ScaleDeployment(ctx, tx, a.caller(r), k, req.Replicas)
	})
}

func (a *API) undeploy(w http.ResponseWriter, r *http.Request) error {
	return a.change(w, r, authz.DeploymentDelete, "deployment.delete", http.StatusAccepted, func(ctx context.Context, tx platform.Tx, k deploy.Key) (deploy.Deployment, error) {
		return a.p.DeleteDeployment(ctx, tx, a.caller(r), k)
	})
}

func (a *API) operation(op string) HandlerFunc {
	fn := map[string]func(context.Context, platform.Tx, platform.Caller, deploy.Key) (deploy.Deployment, error){
		"stop": a.p.StopDeployment, "start": a.p.StartDeployment, "restart": a.p.RestartDeployment,
	}[op]
	return func(w http.ResponseWriter, r *http.Request) error {
		return a.change(w, r, authz.DeploymentOperate, "deployment."+op, http.StatusOK, func(ctx context.Context, tx platform.Tx, k deploy.Key) (deploy.Deployment, error) {
			return fn(ctx, tx, a.caller(r), k)
		})
	}
}
