package kube_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	kptr "k8s.io/utils/ptr"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/resource"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func version(name string) apps.Version {
	return apps.Version{
		Tenant: "bank", Project: "channels", Application: "red-auth", Name: name,
		Image: "registry.example.com/bank/red-auth:" + name, Tier: "small",
		Resources: &apps.Resources{
			Requests: resource.List{resource.CPU: resource.MilliUnits(500), resource.Memory: resource.Units(512 << 20)},
			Limits:   resource.List{resource.CPU: resource.Units(1), resource.Memory: resource.Units(1 << 30)},
		},
		Orchestration: apps.Orchestration{Replicas: 2},
	}
}

func workload(ns string, v apps.Version) kube.Workload {
	return kube.Workload{Tenant: "bank", Project: "channels", Environment: "test", Namespace: ns, App: "red-auth", Version: v}
}

func applier(t *testing.T, c *clustertest.Cluster) *kube.Applier {
	t.Helper()
	a, err := kube.NewApplier(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func apply(t *testing.T, a *kube.Applier, w kube.Workload, prev kube.Inventory, mutate ...func(*unstructured.Unstructured)) kube.Inventory {
	t.Helper()
	objs, err := kube.Render(w)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		for _, m := range mutate {
			m(o)
		}
	}
	inv, err := a.Apply(t.Context(), objs, prev)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// simulate makes the rendered Deployment's pods misbehave in the local cluster.
func simulate(mode string) func(*unstructured.Unstructured) {
	return func(o *unstructured.Unstructured) {
		if o.GetKind() == "Deployment" {
			_ = unstructured.SetNestedField(o.Object, mode, "spec", "template", "metadata", "labels", localcluster.SimulateLabel)
		}
	}
}

func kinds(inv kube.Inventory) []string {
	var out []string
	for _, r := range inv {
		out = append(out, r.Kind+"/"+r.Name)
	}
	return out
}

func TestEveryRenderedObjectReadsBackAsRendered(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	v := version("v1-0-0")
	v.Digest = "sha256:" + strings.Repeat("ab", 32)
	v.Orchestration = apps.Orchestration{
		Ports:      []apps.Port{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
		Env:        []apps.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "DB_URL", ConfigRef: "red-auth-db"}},
		ConfigRefs: []apps.ConfigRef{{Name: "red-auth-settings", MountPath: "/etc/red-auth"}},
		Probes: apps.Probes{
			Startup:   &apps.Probe{HTTPPath: "/started", Port: 8080, FailureThreshold: 30, PeriodSeconds: 2},
			Readiness: &apps.Probe{HTTPPath: "/ready", Port: 8080, PeriodSeconds: 5},
			Liveness:  &apps.Probe{Port: 8080, InitialDelaySeconds: 10},
		},
		Replicas:                3,
		Autoscaling:             &apps.Autoscaling{MinReplicas: 3, MaxReplicas: 10, TargetCPUPercent: 70, TargetMemoryPercent: 80},
		ZoneSpread:              apps.SpreadPreferred,
		GracefulShutdownSeconds: 45,
		PreStop:                 []string{"/bin/sh", "-c", "sleep 10"},
	}
	a := applier(t, c)
	inv := apply(t, a, workload(ns, v), nil)
	want := []string{"ConfigMap/red-auth-env", "Service/red-auth", "HorizontalPodAutoscaler/red-auth", "Deployment/red-auth", "PodDisruptionBudget/red-auth"}
	if diff := cmp.Diff(want, kinds(inv), cmpSorted()); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}

	ctx := t.Context()
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	ctr := pod.Containers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"image pinned to digest", ctr.Image, v.Image + "@" + v.Digest},
		{"replicas left to the autoscaler (defaulted by the API server)", *d.Spec.Replicas, int32(1)},
		{"version label", d.Spec.Template.Labels[kube.LabelVersion], "v1-0-0"},
		{"selector", d.Spec.Selector.MatchLabels, map[string]string{kube.LabelApp: "red-auth"}},
		{"max unavailable", d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue(), 0},
		{"cpu request", ctr.Resources.Requests.Cpu().String(), "500m"},
		{"memory limit", ctr.Resources.Limits.Memory().String(), "1Gi"},
		{"startup probe", ctr.StartupProbe.HTTPGet.Path, "/started"},
		{"readiness probe", ctr.ReadinessProbe.HTTPGet.Path, "/ready"},
		{"liveness probe is TCP", ctr.LivenessProbe.TCPSocket.Port.IntValue(), 8080},
		{"grace period", *pod.TerminationGracePeriodSeconds, int64(45)},
		{"preStop", ctr.Lifecycle.PreStop.Exec.Command, []string{"/bin/sh", "-c", "sleep 10"}},
		{"preferred zone anti-affinity", pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey, kube.ZoneLabel},
		{"env from the rendered ConfigMap", ctr.EnvFrom[0].ConfigMapRef.Name, "red-auth-env"},
		{"env from a config item", ctr.Env[0].ValueFrom.ConfigMapKeyRef.Name, "red-auth-db"},
		{"config mount", ctr.VolumeMounts[0].MountPath, "/etc/red-auth"},
		{"ports", len(ctr.Ports), 2},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("deployment %s (-want +got):\n%s", c.what, diff)
		}
	}
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].TargetPort.StrVal != "http" || svc.Spec.ClusterIP == "" {
		t.Errorf("service = %+v, %v", svc.Spec, err)
	}
	cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "red-auth-env", metav1.GetOptions{})
	if err != nil || cm.Data["LOG_LEVEL"] != "info" || len(cm.Data) != 1 {
		t.Errorf("configmap = %v, %v", cm.Data, err)
	}
	hpa, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 10 || len(hpa.Spec.Metrics) != 2 ||
		*hpa.Spec.Metrics[0].Resource.Target.AverageUtilization != 70 {
		t.Errorf("hpa = %+v, %v", hpa.Spec, err)
	}
	pdb, err := c.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("pdb = %+v, %v", pdb.Spec, err)
	}
	for _, o := range []metav1.Object{d, svc, cm, hpa, pdb} {
		l := o.GetLabels()
		if l[kube.LabelManagedBy] != "berth" || l[kube.LabelTenant] != "bank" || l[kube.LabelEnvironment] != "test" {
			t.Errorf("%s labels = %v", o.GetName(), l)
		}
	}
}

func cmpSorted() cmp.Option {
	return cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if out[j] < out[i] {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
}

func TestApplyPrunesWhatIsNoLongerRendered(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	a := applier(t, c)
	v1 := version("v1")
	v1.Orchestration.Ports = []apps.Port{{Name: "http", ContainerPort: 8080}}
	v1.Orchestration.Env = []apps.EnvVar{{Name: "A", Value: "1"}}
	v1.Orchestration.Autoscaling = &apps.Autoscaling{MinReplicas: 2, MaxReplicas: 4, TargetCPUPercent: 60}
	inv := apply(t, a, workload(ns, v1), nil)
	if len(inv) != 5 {
		t.Fatalf("first apply owns %v", kinds(inv))
	}
	v2 := version("v2")
	v2.Orchestration.Replicas = 1
	inv = apply(t, a, workload(ns, v2), inv)
	if diff := cmp.Diff([]string{"Deployment/red-auth"}, kinds(inv)); diff != "" {
		t.Errorf("inventory after v2 (-want +got):\n%s", diff)
	}
	ctx := t.Context()
	gone := map[string]error{}
	_, gone["service"] = c.Client.CoreV1().Services(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	_, gone["configmap"] = c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "red-auth-env", metav1.GetOptions{})
	_, gone["hpa"] = c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	_, gone["pdb"] = c.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	for what, err := range gone {
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s not pruned: %v", what, err)
		}
	}
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 1 {
		t.Errorf("deployment after v2: %v %v", d, err)
	}
}

func TestApplyTakesBackFieldsAnotherManagerChanged(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	a := applier(t, c)
	w := workload(ns, version("v1"))
	inv := apply(t, a, w, nil)

	ctx := t.Context()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "red-auth", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Replicas = kptr.To[int32](7)
		d.Spec.Template.Spec.Containers[0].Image = "registry.example.com/bank/red-auth:hotfix"
		_, err = c.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	edited, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil || *edited.Spec.Replicas != 7 {
		t.Fatalf("the edit did not take: %v", err)
	}
	apply(t, a, w, inv)
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != w.Version.Image {
		t.Errorf("after re-apply: replicas %d image %s, want 2 and %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image, w.Version.Image)
	}
}

// statusRecorder starts a Watcher and records every phase it reports for one app.
type statusRecorder struct {
	w      *kube.Watcher
	key    kube.AppKey
	mu     sync.Mutex
	phases []kube.Phase
}

func watch(t *testing.T, c *clustertest.Cluster, ns string) *statusRecorder {
	t.Helper()
	r := &statusRecorder{key: kube.AppKey{Namespace: ns, App: "red-auth"}}
	var w *kube.Watcher
	w, err := kube.NewWatcher(c.Client, func(k kube.AppKey) {
		if k != r.key {
			return
		}
		p := w.Status(k).Phase
		r.mu.Lock()
		if n := len(r.phases); n == 0 || r.phases[n-1] != p {
			r.phases = append(r.phases, p)
		}
		r.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); w.Stop() })
	if err := w.Start(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	r.w = w
	return r
}

func (r *statusRecorder) waitFor(t *testing.T, want kube.Phase, limit time.Duration) kube.Status {
	t.Helper()
	var last kube.Status
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, limit, true, func(context.Context) (bool, error) {
		last = r.w.Status(r.key)
		return last.Phase == want, nil
	})
	if err != nil {
		t.Fatalf("status never became %s; last %+v", want, last)
	}
	return last
}

func (r *statusRecorder) seen() []kube.Phase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]kube.Phase(nil), r.phases...)
}

func TestStatusMovesFromProgressingToRunning(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	r := watch(t, c, ns)
	apply(t, applier(t, c), workload(ns, version("v1")), nil)
	s := r.waitFor(t, kube.PhaseRunning, 2*time.Minute)
	if seen := r.seen(); len(seen) < 2 || seen[0] != kube.PhaseProgressing {
		t.Errorf("phases seen %v, want Progressing before Running", seen)
	}
	if s.Ready != 2 || len(s.Pods) != 2 || s.Version != "v1" {
		t.Fatalf("status %+v", s)
	}
	for _, p := range s.Pods {
		if p.Node == "" || p.Zone == "" || p.IP == "" || !p.Ready || p.Version != "v1" {
			t.Errorf("pod %+v lacks node, zone, IP, readiness or version", p)
		}
	}
}

func TestStatusReportsFaultsWithTheirEvidence(t *testing.T) {
	tests := []struct {
		mode       string
		deadline   int32
		want       kube.Phase
		wantReason string
	}{
		{localcluster.SimulateCrashLoop, 0, kube.PhaseFailed, "CrashLoopBackOff"},
		{localcluster.SimulateImagePullFailure, 0, kube.PhaseFailed, "ErrImagePull|ImagePullBackOff"},
		{localcluster.SimulateNeverReady, 3, kube.PhaseFailed, "ProgressDeadlineExceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			c := clustertest.Start(t)
			ns := c.Namespace(t)
			r := watch(t, c, ns)
			w := workload(ns, version("v1"))
			w.ProgressDeadlineSeconds = tt.deadline
			apply(t, applier(t, c), w, nil, simulate(tt.mode))
			s := r.waitFor(t, tt.want, 2*time.Minute)
			if !strings.Contains("|"+tt.wantReason+"|", "|"+s.Reason+"|") || s.Message == "" {
				t.Errorf("status %s reason %q message %q, want reason %s with evidence", s.Phase, s.Reason, s.Message, tt.wantReason)
			}
		})
	}
}

func TestRequiredZoneSpreadLeavesExtraReplicasPendingAndSaysWhy(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	r := watch(t, c, ns)
	v := version("v1")
	v.Orchestration.Replicas = 5
	v.Orchestration.ZoneSpread = apps.SpreadRequired
	apply(t, applier(t, c), workload(ns, v), nil)
	s := r.waitFor(t, kube.PhaseDegraded, 2*time.Minute)
	if s.Reason != "Unschedulable" || !strings.Contains(s.Message, "anti-affinity") {
		t.Errorf("status reason %q message %q, want Unschedulable naming anti-affinity", s.Reason, s.Message)
	}
	zones := map[string]int{}
	pending := 0
	for _, p := range s.Pods {
		if p.Ready {
			zones[p.Zone]++
		} else if p.Reason == "Unschedulable" {
			pending++
		}
	}
	if len(zones) != 3 || pending != 2 {
		t.Errorf("ready per zone %v and %d pending, want one ready in each of 3 zones and 2 pending", zones, pending)
	}
	for z, n := range zones {
		if n != 1 {
			t.Errorf("zone %s has %d replicas: required spread co-located them", z, n)
		}
	}
}

func TestStopScalesToZeroAndDropsTheAutoscaler(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	r := watch(t, c, ns)
	a := applier(t, c)
	v := version("v1")
	v.Orchestration.Autoscaling = &apps.Autoscaling{MinReplicas: 2, MaxReplicas: 4, TargetCPUPercent: 60}
	inv := apply(t, a, workload(ns, v), nil)
	w := workload(ns, v)
	w.Replicas = kptr.To[int32](0)
	inv = apply(t, a, w, inv)
	r.waitFor(t, kube.PhaseStopped, time.Minute)
	if got := fmt.Sprint(kinds(inv)); got != "[Deployment/red-auth]" {
		t.Errorf("stopped inventory %s, want only the Deployment", got)
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded {
			t.Logf("pod %s still present while stopping (deletion is asynchronous)", p.Name)
		}
	}
}
