package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/workqueue"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/traffic/providers"
)

// GrayPlans reconciles gray plans: for each it runs the second version
// beside the application's main Deployment (the gray one while running, the
// old one while a promotion keeps it) and the per-version Services routes
// send each version's traffic to, prunes them when the plan ends, records
// which of those Services serve (routes switch to them only then), writes
// the mesh route objects of Istio and Gateway API environments, and ends
// promoted plans whose keep-old time is over.
//
// Order matters for traffic never to find a missing pod: the stable
// version's own Service is created and must serve — and that be recorded,
// so routes move to it from the application's Service (which selects every
// version) — before the gray Deployment is created; gray is routed only
// once its Service serves. The second Deployment of the version that became
// (or stayed) stable stays until the main Deployment has rolled to it.
type GrayPlans struct {
	db       platform.Transactor
	svc      *gray.Service
	clusters *kube.Registry
	clock    clock.Clock
	log      *slog.Logger
	resync   time.Duration
	queue    workqueue.TypedRateLimitingInterface[deploy.Key]
	gateway  *GatewayConfig // nil: no Berth gateway provider to wait for
	files    *configFiles
	metrics  *Metrics     // Measure
	groups   *gray.Groups // AnalyseWith; nil: no metric analysis
}

// AnalyseWith has the controller run the metric checks of plans' current
// steps through g (gray.Groups.Analyse), which aborts a plan, or its
// order's whole gray group, when a check fails. Call it before Run.
func (c *GrayPlans) AnalyseWith(g *gray.Groups) { c.groups = g }

// deliveryPoll is how soon a plan waiting for gateways to put its routes
// in force is looked at again.
const deliveryPoll = 50 * time.Millisecond

// RouteThrough makes the controller apply a plan of a gateway environment
// only once g has published the route the plan calls for (Publishes), so
// that pods are never removed while the gateway still routes to them.
func (c *GrayPlans) RouteThrough(g *GatewayConfig) { c.gateway = g }

// NewGrayPlans returns the gray plan controller; resync is how often every
// plan is looked at regardless of events (0: every minute).
func NewGrayPlans(db platform.Transactor, svc *gray.Service, cfg *configcenter.Service, clusters *kube.Registry, c clock.Clock, log *slog.Logger, resync time.Duration) *GrayPlans {
	if resync == 0 {
		resync = time.Minute
	}
	return &GrayPlans{db: db, svc: svc, clusters: clusters, clock: c, log: log, resync: resync, files: newConfigFiles(cfg, db),
		queue: newQueue[deploy.Key]("grayplans", 200*time.Millisecond, 30*time.Second)}
}

// Enqueue asks for k's plan to be reconciled (a plan or its deployment
// changed).
func (c *GrayPlans) Enqueue(k deploy.Key) { c.queue.Add(k) }

// Subscribe has the controller reconcile the plan of every deployment or
// gray plan that changes on b, and of those whose versions mount a config
// item that changes. Call it before Run, after the gateway
// configuration subscribed (a plan's new routes are published first).
func (c *GrayPlans) Subscribe(b *change.Bus) {
	b.Subscribe(func(ch change.Changed) { c.Enqueue(deploy.KeyOf(ch)) }, change.Deployment, change.GrayPlan)
	c.files.subscribe(b, c.Enqueue)
}

// Run reconciles with workers goroutines until ctx ends.
func (c *GrayPlans) Run(ctx context.Context, workers int) {
	stop := startWorkers(ctx, c.queue, workers, measure(c.metrics, "grayplans", c.queue, c.Reconcile), func(k deploy.Key, err error) {
		c.log.Warn("reconcile gray plan", "plan", gray.Path(k), "step", stepOf(err), "err", err)
	})
	defer stop()
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	for {
		c.enqueueAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *GrayPlans) enqueueAll(ctx context.Context) {
	err := view(ctx, c.db, func(st grayReads) error {
		plans, err := st.ListPlans(ctx, deploy.Filter{})
		for _, p := range plans {
			c.queue.Add(p.Key())
		}
		return err
	})
	if err != nil && ctx.Err() == nil {
		c.log.Error("list gray plans", "err", err)
	}
}

// grayState is what one reconcile reads in one transaction.
type grayState struct {
	plan     gray.Plan
	dep      *deploy.Deployment // nil when the application is not deployed
	env      tenancy.Environment
	versions map[string]apps.Version
	files    map[string][]kube.File // by version: the config items it mounts
}

// Reconcile makes the cluster match k's plan once. It returns a delay after
// which to look again while waiting on the cluster, or an error to retry.
func (c *GrayPlans) Reconcile(ctx context.Context, k deploy.Key) (time.Duration, error) {
	p := &grayPass{c: c, k: k}
	return runSteps(ctx, &p.at,
		step{"load", "", p.load},                             // the plan, its deployment, environment and versions
		step{"expire", "", p.expire},                         // a promoted plan past its keep-old time ends
		step{"connect", reasonClusterUnreachable, p.connect}, // the environment's cluster, ready; what the plan applied there
		step{"route", reasonGatewayRejected, p.route},        // the gateways route as the plan says before pods go
		step{"render", reasonRenderFailed, p.render},         // the versions' objects and the mesh route
		step{"claim", reasonNotOwned, p.claim},               // none of them taken from others
		step{"apply", reasonApplyFailed, p.apply},            // routes first, then workloads; prune
		step{"record", "", p.record},                         // the inventory and the serving versions, in the database
		step{"analyse", "", p.analyse},                       // the current step's metric checks, once gray serves
		step{"wait", "", p.wait},                             // look again while versions come up, or when the old one is due to go
	)
}

// gatewayBehind reports whether the Berth gateway's published
// configuration does not route s's deployment the way s's plan calls for
// yet: it publishes once, and if that does not make the route current (the
// environment's part was rejected, or the plan changed meanwhile) nothing
// is applied this time, and the rejection is recorded (fail). Applying only
// behind a published route is what keeps the gateway from routing to a
// version whose pods this reconcile removes.
func (c *GrayPlans) gatewayBehind(ctx context.Context, s grayState, fail func(context.Context, error) error) (bool, error) {
	if !routesThroughGateway(c.gateway, s) {
		return false, nil
	}
	plan := s.plan
	r, ok := gray.Route(gatewayTarget(*s.dep, s.versions[s.dep.Version], &plan, s.env), c.svc.Headers())
	if !ok || c.gateway.Publishes(s.plan.Key(), r) {
		return false, nil
	}
	if err := c.gateway.PublishFor(ctx, s.plan.Key()); err != nil {
		return true, fmt.Errorf("publish the gateway configuration: %w", err)
	}
	if c.gateway.Publishes(s.plan.Key(), r) {
		return false, nil
	}
	if why, bad := c.gateway.Rejected()[envPath(s.plan.Key())]; bad {
		err := fmt.Errorf("the gateway configuration of environment %s is rejected, so the plan waits: %s", s.env.Name, why)
		if s.plan.Applied.Error != err.Error() {
			return true, fail(ctx, err)
		}
	}
	return true, nil
}

// routesThroughGateway reports whether s's deployment is routed by Berth
// gateways following g.
func routesThroughGateway(g *GatewayConfig, s grayState) bool {
	if g == nil || s.dep == nil {
		return false
	}
	p, err := providers.Lookup(s.env.Traffic)
	return err == nil && p.Published
}

// notOthers refuses to apply over an object Berth did not create (one
// without Berth's managed-by label that is not in the plan's inventory):
// a user's Service that happens to bear the name of a per-version one is
// never taken over.
func notOthers(ctx context.Context, conn *kube.Conn, objs []*unstructured.Unstructured, prev kube.Inventory) error {
	for _, o := range objs {
		ref := kube.RefOf(o)
		if slices.Contains(prev, ref) {
			continue
		}
		live, err := conn.Applier.Get(ctx, ref)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", ref, err)
		}
		if live.GetLabels()[kube.LabelManagedBy] != kube.ManagedBy {
			return fmt.Errorf("%s exists and is not Berth's; Berth will not take it over (rename or remove it)", ref)
		}
	}
	return nil
}

// routeObjects renders the plan's route for the environment's traffic
// provider: nothing for the Berth gateway (the server publishes its routes,
// GatewayConfig), a DestinationRule and VirtualService for Istio, an
// HTTPRoute for Gateway API. Routes follow what serves (gray.Route), so a
// mesh never sends traffic where no pod answers.
func (c *GrayPlans) routeObjects(s grayState) ([]*unstructured.Unstructured, error) {
	if !s.follows() {
		return nil, nil
	}
	p, err := providers.Lookup(s.env.Traffic)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", s.env.Name, err)
	}
	if p.Published {
		return nil, nil
	}
	plan := s.plan
	r, ok := gray.Route(gray.Target{Deployment: *s.dep, Version: s.versions[s.dep.Version], Plan: &plan,
		Namespace: s.env.Namespace, Gateway: s.env.Gateway, Cluster: s.env.Cluster}, c.svc.Headers())
	if !ok {
		return nil, nil
	}
	objs, err := p.Render(r)
	if err != nil {
		return nil, fmt.Errorf("%s route of %s: %w", p.Name, r.Name, err)
	}
	return objs, nil
}

// isRoute tells the mesh route objects (applied only where Berth owns them)
// from the workload objects in an inventory.
func isRoute(ref kube.ObjectRef) bool { return providers.IsRoute(ref.Group) }

// apply applies the route objects, then the workload objects, each against
// its part of the previous inventory, and returns the whole new inventory.
// Routes go first: a route only names Services that already serve, and a
// version's pods are pruned only once no route sends requests to them.
func apply(ctx context.Context, conn *kube.Conn, objs, routes []*unstructured.Unstructured, prev kube.Inventory) (kube.Inventory, error) {
	var prevObjs, prevRoutes kube.Inventory
	for _, r := range prev {
		if isRoute(r) {
			prevRoutes = append(prevRoutes, r)
		} else {
			prevObjs = append(prevObjs, r)
		}
	}
	rinv, err := conn.Applier.ApplyOwned(ctx, routes, prevRoutes)
	if err != nil {
		return nil, err
	}
	inv, err := conn.Applier.Apply(ctx, objs, prevObjs)
	if err != nil {
		return nil, err
	}
	all := append(inv, rinv...)
	slices.SortFunc(all, func(a, b kube.ObjectRef) int { return strings.Compare(a.String(), b.String()) })
	return all, nil
}

func (c *GrayPlans) load(ctx context.Context, k deploy.Key) (grayState, error) {
	s := grayState{versions: map[string]apps.Version{}}
	err := view(ctx, c.db, func(st grayReads) error {
		var err error
		if s.plan, err = st.GetPlan(ctx, k); err != nil {
			return err
		}
		if s.env, err = st.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment); err != nil {
			return err
		}
		d, err := st.GetDeployment(ctx, k)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		s.dep = &d
		for _, v := range []string{s.plan.StableVersion, s.plan.GrayVersion, d.Version} {
			ver, err := st.GetVersion(ctx, k.Tenant, k.Project, k.Application, v)
			if err != nil {
				return fmt.Errorf("version %s: %w", v, err)
			}
			s.versions[v] = ver
		}
		return nil
	})
	return s, err
}

// follows reports whether the plan still describes the deployment.
func (s grayState) follows() bool {
	return s.dep != nil && !s.dep.Deleting && s.plan.CurrentStable() == s.dep.Version
}

// wantServing lists the versions whose Services should serve: the stable
// one and the second one.
func wantServing(s grayState) []string {
	if !s.follows() || len(s.versions[s.dep.Version].Orchestration.Ports) == 0 {
		return nil
	}
	out := []string{s.dep.Version}
	if o := s.plan.Other(); o != "" {
		out = append(out, o)
	}
	return out
}

// desired renders the plan's objects; waiting reports that some are held
// back until routes have moved (the second Deployment) or the main
// Deployment has rolled.
func (c *GrayPlans) desired(ctx context.Context, s grayState, conn *kube.Conn) (objs []*unstructured.Unstructured, waiting bool, err error) {
	if !s.follows() {
		return nil, false, nil
	}
	p, d := s.plan, *s.dep
	for _, v := range wantServing(s) {
		svc, err := kube.RenderVersionService(c.workload(s, v), gray.ServiceName(d.Application, v))
		if err != nil {
			return nil, false, err
		}
		objs = append(objs, svc)
	}
	var beside []string
	if o := p.Other(); o != "" {
		if slices.Contains(p.Applied.Serving, d.Version) || len(wantServing(s)) == 0 {
			beside = append(beside, o)
		} else {
			waiting = true
		}
	}
	// The stable version keeps a copy beside the main Deployment until that
	// has rolled to it: after a promotion, and after a switch back — also
	// when a new plan starts before the main Deployment has rolled back, or
	// the stable Service would lose the pods it routes to.
	copyName := gray.ServiceName(d.Application, d.Version)
	if p.Phase != gray.Running || hasDeployment(p.Applied.Inventory, copyName) {
		gone, err := copyMayGo(ctx, conn, s.env.Namespace, d.Application, d.Version)
		if err != nil {
			return nil, false, err
		}
		if !gone {
			beside = append(beside, d.Version)
			waiting = true
		}
	}
	for _, v := range beside {
		more, err := kube.RenderBeside(c.workload(s, v), gray.ServiceName(d.Application, v))
		if err != nil {
			return nil, false, err
		}
		objs = append(objs, more...)
	}
	return objs, waiting, nil
}

// copyMayGo reports whether the copy of version beside app's main
// Deployment may go: the main Deployment has rolled to version, as the API
// server says (the watcher's cache, asked first because it costs nothing,
// can lag by seconds under load and show the Deployment as it was before
// its last rollout), and the version's Service, named as the copy, lists
// in its own EndpointSlices as many ready pods that are not the copy's as
// the main Deployment wants (the endpoint controller can lag too). So the
// Service the routes use never runs out of pods when the copy's go.
func copyMayGo(ctx context.Context, conn *kube.Conn, namespace, app, version string) (bool, error) {
	if !kube.RolledTo(conn.Watcher.Deployment(kube.AppKey{Namespace: namespace, App: app}), version) {
		return false, nil
	}
	rolled, want, err := kube.DeploymentRolledTo(ctx, conn.Client, namespace, app, version)
	if err != nil || !rolled {
		return false, err
	}
	name := gray.ServiceName(app, version)
	others, err := kube.ReadyEndpoints(ctx, conn.Client, namespace, name, name+"-")
	return others >= int(want), err
}

// hasDeployment reports whether inventory (a plan's last applied one)
// holds the Deployment name.
func hasDeployment(inventory []byte, name string) bool {
	var inv kube.Inventory
	if len(inventory) == 0 || json.Unmarshal(inventory, &inv) != nil {
		return false
	}
	return slices.ContainsFunc(inv, func(r kube.ObjectRef) bool { return r.Kind == "Deployment" && r.Name == name })
}

// workload is version v of the plan's application. The gray version runs
// at the plan's gray replica count, the other at the deployment's.
func (c *GrayPlans) workload(s grayState, v string) kube.Workload {
	d := *s.dep
	w := kube.Workload{Tenant: d.Tenant, Project: d.Project, Environment: d.Environment, Namespace: s.env.Namespace,
		App: d.Application, Version: s.versions[v], Replicas: d.Replicas, Files: s.files[v]}
	if v == s.plan.GrayVersion {
		w.Replicas = s.plan.GrayReplicas
	}
	return w
}

// serving lists, in wantServing's order, the versions whose Service among
// objs has a ready endpoint, and the stable version once recorded as
// serving (it stays so while the plan follows the deployment).
func (c *GrayPlans) serving(ctx context.Context, s grayState, conn *kube.Conn, objs []*unstructured.Unstructured) ([]string, error) {
	var out []string
	for _, v := range wantServing(s) {
		name := gray.ServiceName(s.dep.Application, v)
		if !slices.ContainsFunc(objs, func(u *unstructured.Unstructured) bool { return u.GetKind() == "Service" && u.GetName() == name }) {
			continue
		}
		if v == s.dep.Version && slices.Contains(s.plan.Applied.Serving, v) {
			// Once routes use the stable version's own Service they keep
			// it: falling back to the application's Service, which selects
			// every version, could reach pods of a version being removed
			// (pods outlive their Deployment until garbage-collected).
			out = append(out, v)
			continue
		}
		ok, err := kube.ServiceServing(ctx, conn.Client, s.env.Namespace, name)
		if err != nil {
			return nil, err
		}
		if ok && v == s.plan.Other() {
			// The second version serves only once its own copy runs in
			// full: its Service also selects pods of the main Deployment
			// while that rolls away from the same version (after a switch
			// back, or a promotion), and those go without warning.
			if ok, err = kube.DeploymentAvailable(ctx, conn.Client, s.env.Namespace, name); err != nil {
				return nil, err
			}
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// fail records that the running step failed with err: the inventory and
// the serving versions stay the last ones applied.
func (p *grayPass) fail(ctx context.Context, err error) error {
	a := p.s.plan.Applied
	return p.c.record(ctx, p.s.plan, a.Inventory, a.Serving, p.at.failed, err)
}

func (c *GrayPlans) record(ctx context.Context, p gray.Plan, inv []byte, serving []string, reason string, applyErr error) error {
	return c.db.InTx(ctx, func(st platform.Tx) error {
		return c.svc.RecordApplied(ctx, st, p.Key(), p.Generation, inv, serving, reason, applyErr)
	})
}

// Measure has the controller's queue and reconciles measured by m; call it
// before Run.
func (c *GrayPlans) Measure(m *Metrics) { c.metrics = m }
