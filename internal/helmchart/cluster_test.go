package helmchart

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	kptr "k8s.io/utils/ptr"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/resource"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// applyAll applies objs to the cluster of cfg with server-side apply
// (field manager helm), as a dry run when dryRun is set.
func applyAll(t *testing.T, cfg *rest.Config, objs []*unstructured.Unstructured, dryRun bool) error {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	opts := metav1.ApplyOptions{FieldManager: "helm", Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
		}
		ri := dynamic.ResourceInterface(dyn.Resource(m.Resource))
		if m.Scope.Name() == "namespace" {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Apply(t.Context(), o.GetName(), o, opts); err != nil {
			return fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
		}
	}
	return nil
}

// TestRenderedObjectsPassAServerSideDryRun sends every object the chart
// renders, with the defaults and with a bank's values, to the real API
// server as a dry run: its validation and admission accept them all.
func TestRenderedObjectsPassAServerSideDryRun(t *testing.T) {
	c := clustertest.Start(t)
	ha := haValues()
	ha["rbac"] = map[string]any{"create": true, "clusterToken": true}
	kubeElection := kubeElectionValues()
	kubeElection["serviceAccount"] = map[string]any{"create": true, "name": "berth-server"}
	for name, vals := range map[string]map[string]any{"defaults": nil, "three replicas on PostgreSQL": ha, "kubernetes election": kubeElection} {
		ns := c.Namespace(t)
		objs, err := render(t, ns, vals)
		if err != nil {
			t.Fatalf("%s: render: %v", name, err)
		}
		kinds := map[string]bool{}
		for _, o := range objs {
			if o.GetNamespace() == "" && o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" {
				o.SetNamespace(ns) // helm install sets the release namespace on objects that name none
			}
			kinds[o.GetKind()] = true
		}
		for _, k := range []string{"Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "PodDisruptionBudget"} {
			if !kinds[k] {
				t.Errorf("%s: no %s rendered (%s)", name, k, manifest(objs))
			}
		}
		if vals["leaderElection"] == "kubernetes" && (!kinds["Role"] || !kinds["RoleBinding"]) {
			t.Errorf("%s: no Role and RoleBinding for the Lease (%s)", name, manifest(objs))
		}
		if err := applyAll(t, c.RESTConfig(), objs, true); err != nil {
			t.Errorf("%s: server-side dry run: %v", name, err)
		}
	}
}

// TestServiceAccountDoesWhatTheDriverDoes installs the chart's RBAC for
// real, then runs Berth's cluster driver as the chart's service account:
// it claims a namespace, applies an application (Deployment, Service,
// ConfigMap, autoscaler, disruption budget), reads it back, watches,
// lists events and isolation policies, and prunes everything. What the
// driver never does stays forbidden.
func TestServiceAccountDoesWhatTheDriverDoes(t *testing.T) {
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	objs, err := render(t, ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount":
			o.SetNamespace(ns)
			rbac = append(rbac, o)
		case "ClusterRole", "ClusterRoleBinding":
			rbac = append(rbac, o)
		}
	}
	if err := applyAll(t, c.RESTConfig(), rbac, false); err != nil {
		t.Fatal(err)
	}
	as := rest.CopyConfig(c.RESTConfig())
	as.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + releaseName}
	ctx := t.Context()
	// The API server's authorizer learns of new bindings from its own
	// watch, a moment after they are written: wait until it answers for
	// the binding (a SubjectAccessReview goes through that authorizer)
	// before acting as the account, or the first request may be refused.
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               as.Impersonate.UserName,
		Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "namespaces", Name: ns + "-app"},
	}}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the chart's ClusterRole does not let %s get namespaces: %+v", sar.Spec.User, got.Status)
		}
	}

	a, err := kube.NewApplier(as)
	if err != nil {
		t.Fatal(err)
	}
	appNS := ns + "-app"
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(ctx, appNS, metav1.DeleteOptions{}) })
	nsObjs, err := kube.RenderNamespace(kube.Namespace{Name: appNS, Tenant: "bank", Project: "channels", Environment: "test",
		Quota: resource.List{resource.CPU: resource.Units(8), resource.Memory: resource.Units(16 << 30)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyNamespace(ctx, nsObjs); err != nil {
		t.Fatalf("claim the namespace as the service account: %v", err)
	}
	w, err := kube.Render(kube.Workload{Tenant: "bank", Project: "channels", Environment: "test", Namespace: appNS, App: "red-auth",
		Version: apps.Version{Tenant: "bank", Project: "channels", Application: "red-auth", Name: "v1", Image: "registry.bank/red-auth:v1",
			Orchestration: apps.Orchestration{Replicas: 2, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}},
				Env:         []apps.EnvVar{{Name: "LOG_LEVEL", Value: "info"}},
				Autoscaling: &apps.Autoscaling{MinReplicas: 2, MaxReplicas: 4, TargetCPUPercent: 70}}}})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := a.Apply(ctx, w, nil)
	if err != nil {
		t.Fatalf("apply an application as the service account: %v", err)
	}
	if len(inv) < 4 {
		t.Errorf("inventory %v: want the Deployment, Service, ConfigMap, autoscaler and budget", inv)
	}
	for _, ref := range inv {
		if _, err := a.Get(ctx, ref); err != nil {
			t.Errorf("read back %s: %v", ref, err)
		}
	}
	if _, err := a.IsolationPolicies(ctx); err != nil {
		t.Errorf("list isolation policies: %v", err)
	}
	// Connected as the server connects a registered cluster: watches
	// synced, /readyz answered.
	reg := kube.NewRegistry(slog.New(slog.DiscardHandler), nil)
	t.Cleanup(reg.Close)
	if err := reg.ConnectConfig(ctx, "home", as); err != nil {
		t.Fatal(err)
	}
	conn, err := reg.AwaitReady(ctx, "home", time.Minute)
	if err != nil {
		t.Fatalf("connect as the service account (watches, readiness): %v", err)
	}
	if _, err := conn.Events(ctx, kube.AppKey{Namespace: appNS, App: "red-auth"}, 10); err != nil {
		t.Errorf("events: %v", err)
	}
	client := conn.Client
	if _, err := a.Apply(ctx, nil, inv); err != nil {
		t.Errorf("prune the application as the service account: %v", err)
	}
	// Logs and the terminal: asked of the authorizer, as kwok's pods run nothing.
	for _, attr := range []authorizationv1.ResourceAttributes{
		{Namespace: appNS, Verb: "get", Resource: "pods", Subresource: "log"},
		{Namespace: appNS, Verb: "create", Resource: "pods", Subresource: "exec"},
		{Namespace: appNS, Verb: "get", Resource: "pods", Subresource: "exec"},
	} {
		if !allowed(t, client, attr) {
			t.Errorf("%s pods/%s: forbidden, the driver needs it", attr.Verb, attr.Subresource)
		}
	}
	// Least privilege: what the driver never does.
	for _, attr := range []authorizationv1.ResourceAttributes{
		{Verb: "delete", Resource: "namespaces"},
		{Namespace: appNS, Verb: "list", Resource: "secrets"},
		{Namespace: appNS, Verb: "create", Resource: "pods"},
		{Verb: "create", Resource: "clusterrolebindings", Group: "rbac.authorization.k8s.io"},
		{Verb: "create", Resource: "customresourcedefinitions", Group: "apiextensions.k8s.io"},
		{Namespace: appNS, Verb: "update", Resource: "deployments", Group: "apps"},
	} {
		if allowed(t, client, attr) {
			t.Errorf("%s %s/%s: allowed, the driver never does it", attr.Verb, attr.Group, attr.Resource)
		}
	}
	if err := client.CoreV1().Namespaces().Delete(ctx, appNS, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete a namespace as the service account: %v, want forbidden", err)
	}
}

// TestRequiredSpreadKeepsAReplicaPendingRatherThanCrowdAZone installs the
// chart's workload with three replicas and the zone spread required on
// the local cluster (three nodes, three zones). With two zones cordoned,
// one replica runs and the others wait, unschedulable by the spread
// constraint; uncordoned, the Deployment becomes available with one
// replica in each zone.
func TestRequiredSpreadKeepsAReplicaPendingRatherThanCrowdAZone(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zoneOf := map[string]string{}
	var cordoned []string
	for _, n := range nodes.Items {
		zone := n.Labels["topology.kubernetes.io/zone"]
		zoneOf[n.Name] = zone
		if zone != "zone-a" {
			cordoned = append(cordoned, n.Name)
		}
	}
	if len(cordoned) != 2 || len(zoneOf) != 3 {
		t.Fatalf("nodes by zone %v: want three nodes, one in zone-a", zoneOf)
	}
	cordon := func(on bool) {
		for _, name := range cordoned {
			patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%v}}`, on)
			if _, err := c.Client.CoreV1().Nodes().Patch(context.WithoutCancel(ctx), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatalf("cordon %s %v: %v", name, on, err)
			}
		}
	}
	cordon(true)
	t.Cleanup(func() { cordon(false) })

	ns := c.Namespace(t)
	vals := haValues()
	vals["persistence"] = map[string]any{"enabled": false}
	objs, err := render(t, ns, vals)
	if err != nil {
		t.Fatal(err)
	}
	var namespaced []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" {
			o.SetNamespace(ns)
			namespaced = append(namespaced, o)
		}
	}
	if err := applyAll(t, c.RESTConfig(), namespaced, false); err != nil {
		t.Fatal(err)
	}
	// zonesOf returns the zones of the release's scheduled pods and how
	// many wait unschedulable because of the spread.
	zonesOf := func(ctx context.Context) (map[string]int, int, error) {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + releaseName})
		if err != nil {
			return nil, 0, err
		}
		zones, spreadPending := map[string]int{}, 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				continue
			}
			if p.Spec.NodeName != "" {
				zones[zoneOf[p.Spec.NodeName]]++
				continue
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonUnschedulable && strings.Contains(cond.Message, "topology spread") {
					spreadPending++
				}
			}
		}
		return zones, spreadPending, nil
	}
	var zones map[string]int
	var pending int
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		zones, pending, err = zonesOf(ctx)
		return err != nil || zones["zone-a"] == 1 && pending == 2, err
	})
	if err != nil || len(zones) != 1 {
		zones, pending, _ = zonesOf(ctx) // as they are now, not as the deadline cut the last look
		t.Fatalf("two zones cordoned: pods in zones %v, %d pending on the spread (%v); want one in zone-a, two pending", zones, pending, err)
	}

	cordon(false)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, releaseName, metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != 3 {
			return false, nil
		}
		zones, pending, err = zonesOf(ctx)
		return err != nil || len(zones) == 3, err
	})
	if err != nil {
		zones, _, _ = zonesOf(ctx)
		t.Fatalf("zones open again: pods in zones %v (%v); want three available replicas, one in each zone", zones, err)
	}
}

func allowed(t *testing.T, client kubernetes.Interface, attr authorizationv1.ResourceAttributes) bool {
	t.Helper()
	r, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(t.Context(),
		&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attr}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("access review %+v: %v", attr, err)
	}
	return r.Status.Allowed
}

// TestServiceAccountHoldsTheLeaderLease installs the chart's Role and
// RoleBinding of leaderElection=kubernetes for real and runs the server's
// Lease elector as the chart's service account, in the namespace the
// chart gives the server: it creates the Lease and leads, renews it, and
// releases it when it stops (updates). Deleting it, or reading or taking
// another Lease, stays forbidden.
func TestServiceAccountHoldsTheLeaderLease(t *testing.T) {
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	objs, err := render(t, ns, kubeElectionValues())
	if err != nil {
		t.Fatal(err)
	}
	_, container := deployment(t, objs)
	leaseNS, _ := env(container, "BERTH_LEASE_NAMESPACE")
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding":
			o.SetNamespace(ns)
			rbac = append(rbac, o)
		}
	}
	if err := applyAll(t, c.RESTConfig(), rbac, false); err != nil {
		t.Fatal(err)
	}
	as := rest.CopyConfig(c.RESTConfig())
	as.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + releaseName}
	e, err := kube.NewLeaseElectorForConfig(as, kube.LeaseOptions{Namespace: leaseNS, Name: leaseName, Identity: "berth-0",
		TTL: 2 * time.Second, Log: slog.New(slog.DiscardHandler),
		Fence: func(context.Context) (leader.Term, error) { return leader.Term{Name: "controllers", Epoch: 1}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	lease := func(ctx context.Context) (*coordinationv1.Lease, error) {
		return c.Client.CoordinationV1().Leases(ns).Get(ctx, leaseName, metav1.GetOptions{})
	}
	// Bounded: an elector the API server refuses retries until its context ends.
	ctx, stop := context.WithTimeout(t.Context(), 2*time.Minute)
	defer stop()
	renewed := make(chan error, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- e.Run(ctx, func(ctx context.Context, _ leader.Term) {
			first, err := lease(ctx)
			if err != nil {
				renewed <- err
				return
			}
			// A renewal is an update of the Lease's renewTime.
			renewed <- wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, false, func(ctx context.Context) (bool, error) {
				l, err := lease(ctx)
				return err == nil && l.Spec.RenewTime != nil && l.Spec.RenewTime.After(first.Spec.RenewTime.Time), nil
			})
			<-ctx.Done()
		})
	}()
	select {
	case err := <-renewed:
		if err != nil {
			t.Fatalf("lead and renew the Lease as the service account: %v", err)
		}
	case err := <-errc:
		t.Fatalf("the elector stopped without leading in 2 minutes (%v): the service account cannot take the Lease", err)
	}
	if l, err := lease(t.Context()); err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "berth-0" {
		t.Fatalf("Lease %s/%s: %+v (%v), want it held by berth-0", ns, leaseName, l, err)
	}
	stop()
	if err := <-errc; err != nil {
		t.Errorf("step down: %v", err)
	}
	if l, err := lease(t.Context()); err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "" {
		t.Errorf("Lease after stepping down: %+v (%v), want it released (an update)", l, err)
	}

	client, err := kubernetes.NewForConfig(as)
	if err != nil {
		t.Fatal(err)
	}
	leases := client.CoordinationV1().Leases(ns)
	if err := leases.Delete(t.Context(), leaseName, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete the Lease as the service account: %v, want forbidden", err)
	}
	other := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns}}
	if _, err := c.Client.CoordinationV1().Leases(ns).Create(t.Context(), other, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := leases.Get(t.Context(), other.Name, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("read another Lease as the service account: %v, want forbidden", err)
	}
	other.Spec.HolderIdentity = kptr.To("berth-0")
	if _, err := leases.Update(t.Context(), other, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("take another Lease as the service account: %v, want forbidden", err)
	}
	if _, err := leases.List(t.Context(), metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list Leases as the service account: %v, want forbidden", err)
	}
}
