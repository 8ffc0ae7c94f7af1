package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// Hand edits of what Berth applied are put back from the watch events
// alone — the controller's periodic resync is an hour away here — and each
// repair is audited naming who changed what. The edits are made as kubectl
// makes them: `kubectl scale` is a merge patch of the scale subresource
// with kubectl's user agent and no field manager, `kubectl edit` an Update
// with field manager kubectl-edit.
func TestHandEditsArePutBackFromWatchEventsAndAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	k := e.key
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		if _, err := e.p.Deploy.Deploy(ctx, tx, alice, k, "v1"); err != nil {
			return err
		}
		_, err := e.p.Deploy.Scale(ctx, tx, alice, k, 6)
		return err
	})
	deployments := e.c.Client.AppsV1().Deployments(e.ns)
	services := e.c.Client.CoreV1().Services(e.ns)
	e.await(t, "the Deployment at 6 replicas of v1", func(ctx context.Context) (bool, error) {
		d, err := deployments.Get(ctx, "red-auth", metav1.GetOptions{})
		return err == nil && *d.Spec.Replicas == 6 && e.deployment(t).Applied.Generation == e.deployment(t).Generation, nil
	})

	kubectlCfg := e.c.RESTConfig()
	kubectlCfg.UserAgent = "kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd"
	kubectl, err := kubernetes.NewForConfig(kubectlCfg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("kubectl scale through the scale subresource", func(t *testing.T) {
		before := e.repairs(t)
		_, err := kubectl.AppsV1().Deployments(e.ns).Patch(t.Context(), "red-auth", types.MergePatchType,
			[]byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}, "scale")
		if err != nil {
			t.Fatal(err)
		}
		e.await(t, "replicas back at 6", func(ctx context.Context) (bool, error) {
			d, err := deployments.Get(ctx, "red-auth", metav1.GetOptions{})
			return err == nil && *d.Spec.Replicas == 6, nil
		})
		e.awaitRepair(t, before, "kubectl (scale)", "spec.replicas")
	})

	t.Run("kubectl edit of the image, an env var and a label", func(t *testing.T) {
		before := e.repairs(t)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			d, err := deployments.Get(t.Context(), "red-auth", metav1.GetOptions{})
			if err != nil {
				return err
			}
			c := &d.Spec.Template.Spec.Containers[0]
			c.Image = "registry.example.com/bank/red-auth:hotfix"
			c.Env = append(c.Env, corev1.EnvVar{Name: "DEBUG", Value: "1"})
			d.Labels["berth.dev/tenant"] = "someone-else"
			_, err = deployments.Update(t.Context(), d, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.await(t, "the image and the label put back", func(ctx context.Context) (bool, error) {
			d, err := deployments.Get(ctx, "red-auth", metav1.GetOptions{})
			return err == nil && strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, ":v1") &&
				d.Labels["berth.dev/tenant"] == "bank" && *d.Spec.Replicas == 6, nil
		})
		e.awaitRepair(t, before, "kubectl-edit", "image")
	})

	t.Run("a Service port changed by another manager", func(t *testing.T) {
		before := e.repairs(t)
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			s, err := services.Get(t.Context(), "red-auth", metav1.GetOptions{})
			if err != nil {
				return err
			}
			s.Spec.Ports[0].TargetPort = intstr.FromInt32(9999)
			_, err = services.Update(t.Context(), s, metav1.UpdateOptions{FieldManager: "kubectl-client-side-apply"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var got intstr.IntOrString
		e.await(t, "the Service's target port put back", func(ctx context.Context) (bool, error) {
			s, err := services.Get(ctx, "red-auth", metav1.GetOptions{})
			if err != nil || len(s.Spec.Ports) != 1 {
				return false, nil
			}
			got = s.Spec.Ports[0].TargetPort
			return got.IntVal != 9999, nil
		})
		if got != intstr.FromString("http") {
			t.Errorf("target port %v after the repair, want the named port http as rendered", got)
		}
		e.awaitRepair(t, before, "kubectl-client-side-apply", "targetPort")
	})

	t.Run("a deleted Deployment", func(t *testing.T) {
		before := e.repairs(t)
		if err := deployments.Delete(t.Context(), "red-auth", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		e.await(t, "the Deployment back", func(ctx context.Context) (bool, error) {
			d, err := deployments.Get(ctx, "red-auth", metav1.GetOptions{})
			return err == nil && d.DeletionTimestamp == nil && *d.Spec.Replicas == 6, nil
		})
		e.awaitRepair(t, before, "(deleted)", "Deployment")
	})

	t.Run("a status update is not drift", func(t *testing.T) {
		before := len(e.repairs(t))
		// Berth's own change, its events and the pods' status churn that
		// follows must not be taken for drift.
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Scale(ctx, tx, alice, k, 3)
			return err
		})
		var d *appsv1.Deployment
		e.await(t, "3 replicas ready", func(ctx context.Context) (bool, error) {
			var err error
			d, err = deployments.Get(ctx, "red-auth", metav1.GetOptions{})
			return err == nil && *d.Spec.Replicas == 3 && d.Status.ReadyReplicas == 3 && d.Status.Replicas == 3, nil
		})
		if got := e.repairs(t); len(got) != before {
			t.Errorf("repairs audited after Berth's own scale: %q", got[before:])
		}
	})
}

// await polls cond until it holds, failing the test after a minute.
func (e *env) await(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, cond); err != nil {
		t.Fatalf("%s: never happened: %v", what, err)
	}
}

// repairs returns the summaries of the drift repairs audited, oldest first.
func (e *env) repairs(t *testing.T) []string {
	t.Helper()
	var out []string
	err := e.p.DB.View(t.Context(), func(tx platform.Tx) error {
		page, err := e.p.Audit.List(t.Context(), tx, audit.Filter{Action: "deployment.drift-repaired"}, resource.ListOptions{Limit: 500})
		for _, r := range page.Items {
			out = append([]string{fmt.Sprintf("%s %s: %s", r.Target, r.Actor, r.Summary)}, out...)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// awaitRepair waits for a drift repair audited after the before ones whose
// summary names every one of words.
func (e *env) awaitRepair(t *testing.T, before []string, words ...string) {
	t.Helper()
	var got []string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		got = e.repairs(t)[len(before):]
		for _, s := range got {
			ok := strings.Contains(s, e.key.Path())
			for _, w := range words {
				ok = ok && strings.Contains(s, w)
			}
			if ok {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no audited repair naming %q; new repairs: %q", words, got)
	}
}
