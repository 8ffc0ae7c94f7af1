package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/tenancy"
)

// pod is one endpoint of the reachability matrix.
type pod struct {
	ns              string
	tenant, project string
	app             string
	labels          map[string]string
	gateway         bool
}

func (p pod) String() string {
	if p.tenant == "" {
		return p.ns
	}
	return p.tenant + "/" + p.project + "/" + p.app
}

var (
	isoTenants  = []string{"ta", "tb"}
	isoProjects = []string{"p1", "p2"}
	isoApps     = []string{"a", "b"}
)

func isoNamespace(tenant, project string) string { return "berth-iso-" + tenant + "-" + project }

// isolationScenario switches isolation on at every level, with allow rules
// across tenants, projects and applications.
var isolationScenario = []netasset.Isolation{
	{Tenant: "ta", Level: netasset.LevelProject, Allow: []netasset.Allow{
		{From: netasset.Peer{Tenant: "tb", Project: "p1"}, To: netasset.Peer{Project: "p2", Application: "a"}}}},
	{Tenant: "ta", Project: "p1", Level: netasset.LevelApplication, Allow: []netasset.Allow{
		{From: netasset.Peer{Tenant: "ta", Project: "p2", Application: "b"}, To: netasset.Peer{Application: "a"}}}},
	{Tenant: "tb", Project: "p2", Level: netasset.LevelTenant},
}

// TestIsolationMatchesExpectedReachability applies Berth's isolation for a
// matrix of 2 tenants x 2 projects x 2 applications to the local cluster
// (whose API server validates every NetworkPolicy), reads the policies
// back, and has cyclonus's NetworkPolicy engine decide every pair's
// reachability, which must equal the reachability computed from the
// scenario by expectReach. Switching isolation off removes the policies.
func TestIsolationMatchesExpectedReachability(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	ctx := t.Context()
	pods := e.isolationFixture(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctrl := controller.NewIsolation(e.store, e.p.Network, e.reg, log, time.Hour)
	e.setIsolation(t, isolationScenario)
	waitReady(t, e)
	if _, err := ctrl.Reconcile(ctx, "local"); err != nil {
		t.Fatal(err)
	}
	// A policy deleted behind Berth's back comes back at the resync.
	if err := e.c.Client.NetworkingV1().NetworkPolicies(isoNamespace("ta", "p1")).Delete(ctx, "berth-isolation", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrl.Resync()
	if _, err := ctrl.Reconcile(ctx, "local"); err != nil {
		t.Fatal(err)
	}
	checked := e.checkReachability(t, pods, isolationScenario)
	if checked.denied == 0 || checked.allowed == 0 {
		t.Fatalf("a matrix with %d allowed and %d denied pairs proves nothing", checked.allowed, checked.denied)
	}
	t.Logf("%d pairs allowed, %d denied, all as expected", checked.allowed, checked.denied)

	off := []netasset.Isolation{{Tenant: "ta", ResourceVersion: 1}, {Tenant: "ta", Project: "p1", ResourceVersion: 1}, {Tenant: "tb", Project: "p2", ResourceVersion: 1}}
	e.setIsolation(t, off)
	if _, err := ctrl.Reconcile(ctx, "local"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.isolationPolicies(t)); n != 0 {
		t.Fatalf("%d isolation policies left after switching isolation off", n)
	}
	if c := e.checkReachability(t, pods, off); c.denied != 0 {
		t.Fatalf("%d pairs still denied with isolation off", c.denied)
	}
}

// isolationFixture creates the tenants, projects (one environment each on
// the local cluster), applications, a gateway namespace and an unrelated
// one, and returns one pod per application plus the gateway's and the
// unrelated namespace's.
func (e *env) isolationFixture(t *testing.T) []pod {
	t.Helper()
	var pods []pod
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, tn := range isoTenants {
			if _, err := e.p.Tenancy.CreateTenant(ctx, tx, alice, tenancy.Tenant{Name: tn}); err != nil {
				return err
			}
			for _, pr := range isoProjects {
				if _, err := e.p.Tenancy.CreateProject(ctx, tx, alice, tenancy.Project{Tenant: tn, Name: pr}); err != nil {
					return err
				}
				if _, err := e.p.Tenancy.CreateEnvironment(ctx, tx, alice, tenancy.Environment{Tenant: tn, Project: pr, Name: "dev",
					Cluster: "local", Namespace: isoNamespace(tn, pr)}); err != nil {
					return err
				}
				for _, app := range isoApps {
					if _, err := e.p.Apps.CreateApplication(ctx, tx, alice, apps.Application{Tenant: tn, Project: pr, Name: app}); err != nil {
						return err
					}
					pods = append(pods, pod{ns: isoNamespace(tn, pr), tenant: tn, project: pr, app: app,
						labels: map[string]string{kube.LabelApp: app, kube.LabelTenant: tn, kube.LabelProject: pr}})
				}
			}
		}
		return nil
	})
	for _, ns := range []*corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "berth-iso-gateway", Labels: map[string]string{kube.LabelNetworkRole: kube.RoleGateway}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "berth-iso-outside"}},
	} {
		if _, err := e.c.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, p := range append(pods, pod{ns: "berth-iso-gateway"}, pod{ns: "berth-iso-outside"}) {
			_ = e.c.Client.CoreV1().Namespaces().Delete(context.Background(), p.ns, metav1.DeleteOptions{})
		}
	})
	return append(pods,
		pod{ns: "berth-iso-gateway", labels: map[string]string{"app": "gateway"}, gateway: true},
		pod{ns: "berth-iso-outside", labels: map[string]string{"app": "batch"}})
}

func (e *env) setIsolation(t *testing.T, records []netasset.Isolation) {
	t.Helper()
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, r := range records {
			if _, err := e.p.Network.SetIsolation(ctx, tx, alice, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func waitReady(t *testing.T, e *env) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, err := e.reg.Ready("local")
		return err == nil, nil
	})
	if err != nil {
		t.Fatal("cluster local never became ready")
	}
}

func (e *env) isolationPolicies(t *testing.T) []*networkingv1.NetworkPolicy {
	t.Helper()
	list, err := e.c.Client.NetworkingV1().NetworkPolicies("").List(t.Context(), metav1.ListOptions{LabelSelector: kube.LabelPolicy + "=" + kube.PolicyIsolation})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*networkingv1.NetworkPolicy, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out
}

type tally struct{ allowed, denied int }

// checkReachability evaluates every pair into a Berth pod with cyclonus
// over the policies and namespace labels read from the cluster.
func (e *env) checkReachability(t *testing.T, pods []pod, records []netasset.Isolation) tally {
	t.Helper()
	engine := matcher.BuildNetworkPolicies(true, e.isolationPolicies(t))
	nsLabels := map[string]map[string]string{}
	for _, p := range pods {
		ns, err := e.c.Client.CoreV1().Namespaces().Get(t.Context(), p.ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nsLabels[p.ns] = ns.Labels
	}
	var c tally
	for i, src := range pods {
		for j, dst := range pods {
			if dst.tenant == "" {
				continue // only Berth's pods are isolated
			}
			traffic := &matcher.Traffic{
				Source:       &matcher.TrafficPeer{Internal: &matcher.InternalPeer{PodLabels: src.labels, NamespaceLabels: nsLabels[src.ns], Namespace: src.ns}, IP: fmt.Sprintf("10.1.0.%d", i+1)},
				Destination:  &matcher.TrafficPeer{Internal: &matcher.InternalPeer{PodLabels: dst.labels, NamespaceLabels: nsLabels[dst.ns], Namespace: dst.ns}, IP: fmt.Sprintf("10.1.0.%d", j+1)},
				ResolvedPort: 8080, ResolvedPortName: "http", Protocol: corev1.ProtocolTCP,
			}
			got := engine.IsTrafficAllowed(traffic).IsAllowed()
			want := expectReach(records, src, dst)
			if got != want {
				t.Errorf("%s -> %s: cyclonus says allowed=%v, expected %v", src, dst, got, want)
			}
			if want {
				c.allowed++
			} else {
				c.denied++
			}
		}
	}
	return c
}

// expectReach is the documented isolation rule, computed from the records
// directly: a destination is isolated at the finer of its tenant's and its
// project's level, and then accepts only its own unit, the gateway and the
// peers its tenant's or project's allow rules name.
func expectReach(records []netasset.Isolation, src, dst pod) bool {
	rank := map[netasset.Level]int{"": 0, "tenant": 1, "project": 2, "application": 3}
	level := netasset.Level("")
	var rules []netasset.Allow
	for _, r := range records {
		if r.Tenant == dst.tenant && (r.Project == "" || r.Project == dst.project) {
			if rank[r.Level] > rank[level] {
				level = r.Level
			}
			rules = append(rules, r.Allow...)
		}
	}
	switch {
	case level == "" || src.gateway:
		return true
	case level == "tenant" && src.tenant == dst.tenant:
		return true
	case level == "project" && src.tenant == dst.tenant && src.project == dst.project:
		return true
	case level == "application" && src.tenant == dst.tenant && src.project == dst.project && src.app == dst.app:
		return true
	}
	in := func(p netasset.Peer, tenant, project, app string) bool {
		return p.Tenant == tenant && (p.Project == "" || p.Project == project) && (p.Application == "" || p.Application == app)
	}
	for _, r := range rules {
		to := r.To
		if to.Tenant == "" {
			to.Tenant = dst.tenant
		}
		if src.tenant != "" && in(r.From, src.tenant, src.project, src.app) && in(to, dst.tenant, dst.project, dst.app) {
			return true
		}
	}
	return false
}
