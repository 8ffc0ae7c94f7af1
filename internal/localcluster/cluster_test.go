package localcluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func deployment(name string, replicas int32, labels, annotations map[string]string) *appsv1.Deployment {
	podLabels := map[string]string{"app": name}
	for k, v := range labels {
		podLabels[k] = v
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: annotations},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.example.com/bank/" + name + ":1.0.0",
				}}},
			},
		},
	}
}

// poll calls cond until it returns true or the deadline passes; the last
// error cond returned explains a timeout.
func poll(t *testing.T, limit time.Duration, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, limit, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		last = err
		return ok, nil
	})
	if err != nil {
		t.Fatalf("condition not met within %v: %v", limit, last)
	}
}

func TestZoneSpreadDeploymentLandsInEveryZoneAndBecomesAvailable(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	d := deployment("teller-front", 6, nil, nil)
	d.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   localcluster.ZoneLabel,
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "teller-front"}},
			},
		}},
	}}
	d.Spec.Template.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: localcluster.ZoneLabel, WhenUnsatisfiable: corev1.DoNotSchedule,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "teller-front"}},
	}}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		got, err := c.Client.AppsV1().Deployments(ns).Get(ctx, d.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue && got.Status.ReadyReplicas == 6 {
				return true, nil
			}
		}
		return false, fmt.Errorf("ready %d/6, conditions %v", got.Status.ReadyReplicas, got.Status.Conditions)
	})

	pods, err := c.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=teller-front"})
	if err != nil {
		t.Fatal(err)
	}
	perZone := map[string]int{}
	for _, p := range pods.Items {
		node, err := c.Client.CoreV1().Nodes().Get(t.Context(), p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod %s on node %q: %v", p.Name, p.Spec.NodeName, err)
		}
		perZone[node.Labels[localcluster.ZoneLabel]]++
		if p.Status.PodIP == "" || p.Status.HostIP == "" {
			t.Errorf("pod %s has no pod or host IP: %+v", p.Name, p.Status)
		}
	}
	for _, zone := range []string{"zone-a", "zone-b", "zone-c"} {
		if perZone[zone] != 2 {
			t.Errorf("zone %s has %d pods, want 2 (spread %v)", zone, perZone[zone], perZone)
		}
	}
}

// firstPod waits for the deployment's pod to satisfy cond and returns it.
func firstPod(t *testing.T, c *clustertest.Cluster, ns, app string, limit time.Duration, cond func(*corev1.Pod) error) *corev1.Pod {
	t.Helper()
	var found *corev1.Pod
	poll(t, limit, func(ctx context.Context) (bool, error) {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false, err
		}
		if len(pods.Items) == 0 {
			return false, fmt.Errorf("no pods yet")
		}
		p := &pods.Items[0]
		if err := cond(p); err != nil {
			return false, fmt.Errorf("pod %s: %w; status %+v", p.Name, err, p.Status.ContainerStatuses)
		}
		found = p
		return true, nil
	})
	return found
}

func condition(p *corev1.Pod, typ corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return corev1.PodCondition{}
}

func wantNotReady(t *testing.T, p *corev1.Pod) {
	t.Helper()
	for _, typ := range []corev1.PodConditionType{corev1.PodReady, corev1.ContainersReady} {
		c := condition(p, typ)
		if c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [app]" {
			t.Errorf("condition %s = %+v, want False/ContainersNotReady with the kubelet's message", typ, c)
		}
	}
}

func create(t *testing.T, c *clustertest.Cluster, ns string, d *appsv1.Deployment) {
	t.Helper()
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestCrashLoopShowsTheKubeletsCrashLoopBackOffStatus(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	create(t, c, ns, deployment("red-auth", 1, map[string]string{localcluster.SimulateLabel: localcluster.SimulateCrashLoop}, nil))

	p := firstPod(t, c, ns, "red-auth", 2*time.Minute, func(p *corev1.Pod) error {
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].RestartCount < 2 || cs[0].State.Waiting == nil {
			return fmt.Errorf("want a waiting container restarted at least twice")
		}
		return nil
	})
	cs := p.Status.ContainerStatuses[0]
	if p.Status.Phase != corev1.PodRunning {
		t.Errorf("phase = %s, want Running", p.Status.Phase)
	}
	if cs.State.Waiting.Reason != "CrashLoopBackOff" {
		t.Errorf("waiting reason = %q, want CrashLoopBackOff", cs.State.Waiting.Reason)
	}
	wantMsg := fmt.Sprintf("back-off 10s restarting failed container=app pod=%s_%s(%s)", p.Name, ns, p.UID)
	if cs.State.Waiting.Message != wantMsg {
		t.Errorf("waiting message = %q, want %q", cs.State.Waiting.Message, wantMsg)
	}
	term := cs.LastTerminationState.Terminated
	if term == nil || term.ExitCode != 1 || term.Reason != "Error" || term.StartedAt.IsZero() || term.FinishedAt.IsZero() ||
		!strings.HasPrefix(term.ContainerID, "containerd://") {
		t.Errorf("lastState.terminated = %+v, want exit 1, reason Error, times and container ID", term)
	}
	if cs.Ready || cs.Started == nil || *cs.Started {
		t.Errorf("ready=%v started=%v, want both false while backing off", cs.Ready, cs.Started)
	}
	wantNotReady(t, p)
}

func TestImagePullFailureAlternatesErrImagePullAndImagePullBackOff(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	create(t, c, ns, deployment("wealth-shop", 1, map[string]string{localcluster.SimulateLabel: localcluster.SimulateImagePullFailure}, nil))
	image := "registry.example.com/bank/wealth-shop:1.0.0"

	for _, reason := range []string{"ErrImagePull", "ImagePullBackOff"} {
		p := firstPod(t, c, ns, "wealth-shop", 2*time.Minute, func(p *corev1.Pod) error {
			cs := p.Status.ContainerStatuses
			if len(cs) != 1 || cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != reason {
				return fmt.Errorf("want waiting reason %s", reason)
			}
			return nil
		})
		cs := p.Status.ContainerStatuses[0]
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("%s: phase = %s, want Pending", reason, p.Status.Phase)
		}
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.Ready || cs.RestartCount != 0 || cs.ImageID != "" {
			t.Errorf("%s: container status %+v, want only waiting, no image ID", reason, cs)
		}
		wantMsg := fmt.Sprintf("Back-off pulling image %q", image)
		if reason == "ErrImagePull" {
			wantMsg = fmt.Sprintf("failed to pull and unpack image %q", image)
		}
		if !strings.HasPrefix(cs.State.Waiting.Message, wantMsg) {
			t.Errorf("%s: message %q, want prefix %q", reason, cs.State.Waiting.Message, wantMsg)
		}
		wantNotReady(t, p)
	}
}

func TestNeverReadyRunsButNeverPassesReadiness(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	create(t, c, ns, deployment("account-open", 1, map[string]string{localcluster.SimulateLabel: localcluster.SimulateNeverReady}, nil))

	// The kubelet reports the failing probe as a Warning event; once it is
	// there the container has had its chance to become ready.
	poll(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
		evs, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=Unhealthy"})
		if err != nil {
			return false, err
		}
		return len(evs.Items) > 0, fmt.Errorf("no Unhealthy event yet")
	})
	p := firstPod(t, c, ns, "account-open", time.Minute, func(p *corev1.Pod) error { return nil })
	cs := p.Status.ContainerStatuses
	if p.Status.Phase != corev1.PodRunning || len(cs) != 1 || cs[0].State.Running == nil || cs[0].Ready ||
		cs[0].Started == nil || !*cs[0].Started || cs[0].RestartCount != 0 {
		t.Fatalf("pod status %+v, want Running with a started, running, unready container", p.Status)
	}
	wantNotReady(t, p)
}

func TestCrashAfterReadyBecomesReadyThenCrashes(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	create(t, c, ns, deployment("mobile-gw", 1,
		map[string]string{localcluster.SimulateLabel: localcluster.SimulateCrashAfterReady},
		map[string]string{localcluster.CrashAfterAnnotation: "3s"}))

	firstPod(t, c, ns, "mobile-gw", 2*time.Minute, func(p *corev1.Pod) error {
		if condition(p, corev1.PodReady).Status != corev1.ConditionTrue {
			return fmt.Errorf("not ready yet")
		}
		return nil
	})
	p := firstPod(t, c, ns, "mobile-gw", 2*time.Minute, func(p *corev1.Pod) error {
		cs := p.Status.ContainerStatuses
		if len(cs) != 1 || cs[0].RestartCount < 1 || cs[0].State.Waiting == nil {
			return fmt.Errorf("no crash yet")
		}
		return nil
	})
	cs := p.Status.ContainerStatuses[0]
	if cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.LastTerminationState.Terminated == nil ||
		cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Errorf("container status %+v, want CrashLoopBackOff after an exit 1", cs)
	}
	wantNotReady(t, p)
}

func TestAPodMarkedNotReadyByTheNodeControllerBecomesReadyAgain(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	create(t, c, ns, deployment("teller-desk", 1, nil, nil))
	p := firstPod(t, c, ns, "teller-desk", 2*time.Minute, func(p *corev1.Pod) error {
		if condition(p, corev1.PodReady).Status != corev1.ConditionTrue {
			return fmt.Errorf("not ready yet")
		}
		return nil
	})
	// What the node lifecycle controller does to the pods of a node that
	// missed its heartbeats.
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
			p.Status.Conditions[i].LastTransitionTime = metav1.Now()
		}
	}
	if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(t.Context(), p, metav1.UpdateOptions{FieldManager: "node-controller"}); err != nil {
		t.Fatal(err)
	}
	firstPod(t, c, ns, "teller-desk", time.Minute, func(p *corev1.Pod) error {
		if condition(p, corev1.PodReady).Status != corev1.ConditionTrue {
			return fmt.Errorf("still not ready")
		}
		return nil
	})
}
