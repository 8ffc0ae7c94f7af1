package controller_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// ready returns the Ready condition among conds, failing the test if
// there is none.
func ready(t *testing.T, conds []resource.Condition) resource.Condition {
	t.Helper()
	for _, c := range conds {
		if c.Type == "Ready" {
			return c
		}
	}
	t.Fatalf("no Ready condition in %+v", conds)
	return resource.Condition{}
}

// deploymentUntil polls the stored deployment until done holds of it.
func (e *env) deploymentUntil(t *testing.T, what string, done func(deploy.Deployment) bool) deploy.Deployment {
	t.Helper()
	var d deploy.Deployment
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		d = e.deployment(t)
		return done(d), nil
	})
	if err != nil {
		t.Fatalf("%s: never; applied %+v", what, d.Applied)
	}
	return d
}

// setKubeconfig replaces the kubeconfig of the local cluster and waits
// until the registry's connection to it is ready or, with ok false, not.
func (e *env) setKubeconfig(t *testing.T, kubeconfig []byte, ok bool) {
	t.Helper()
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		c, err := e.p.Tenancy.GetCluster(ctx, tx, "local")
		if err != nil {
			return err
		}
		_, err = e.p.Tenancy.UpdateCluster(ctx, tx, alice, c, kubeconfig)
		return err
	})
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, err := e.reg.Ready("local")
		return (err == nil) == ok, nil
	})
	if err != nil {
		t.Fatalf("the connection to the local cluster never became ready=%v", ok)
	}
}

// TestDeploymentReadyConditionNamesTheStepThatFailed deploys while the
// environment's cluster cannot be reached: the deployment shows Ready
// False, reason ClusterUnreachable, with applied.error's text. Once the
// cluster's kubeconfig is reachable again it is applied: Ready True, reason
// Applied, at a new transition time. A scale applied after keeps that time
// (the status did not change) and moves the observed generation.
func TestDeploymentReadyConditionNamesTheStepThatFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	good, err := os.ReadFile(e.c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	server := regexp.MustCompile(`server: https://\S+`)
	if !server.Match(good) {
		t.Fatalf("no server in the kubeconfig:\n%s", good)
	}
	e.setKubeconfig(t, server.ReplaceAll(good, []byte("server: https://127.0.0.1:1")), false)

	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
		return err
	})
	d := e.deploymentUntil(t, "Ready False, ClusterUnreachable", func(d deploy.Deployment) bool {
		return len(d.Applied.Conditions) > 0 && d.Applied.Conditions[0].Reason == "ClusterUnreachable"
	})
	down := ready(t, d.Applied.Conditions)
	if down.Status != "False" || down.ObservedGeneration != 1 || down.Message != d.Applied.Error || d.Applied.Error == "" ||
		down.LastTransitionTime.IsZero() {
		t.Fatalf("unreachable: Ready %+v, applied.error %q; want False of generation 1 with the error's text and a time", down, d.Applied.Error)
	}

	e.setKubeconfig(t, good, true)
	d = e.deploymentUntil(t, "Ready True, Applied", func(d deploy.Deployment) bool {
		return len(d.Applied.Conditions) > 0 && d.Applied.Conditions[0].Status == "True"
	})
	up := ready(t, d.Applied.Conditions)
	if up.Reason != "Applied" || up.ObservedGeneration != 1 || d.Applied.Error != "" || d.Applied.Generation != 1 {
		t.Fatalf("applied: Ready %+v, applied.error %q, generation %d; want Applied of generation 1, no error", up, d.Applied.Error, d.Applied.Generation)
	}
	if !up.LastTransitionTime.After(down.LastTransitionTime) {
		t.Fatalf("Ready turned True at %v, not after it turned False at %v", up.LastTransitionTime, down.LastTransitionTime)
	}

	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Scale(ctx, tx, alice, e.key, 3)
		return err
	})
	d = e.deploymentUntil(t, "generation 2 applied", func(d deploy.Deployment) bool { return d.Applied.Generation == 2 })
	again := ready(t, d.Applied.Conditions)
	want := resource.Condition{Type: "Ready", Status: "True", Reason: "Applied", Message: "generation 2 is applied",
		ObservedGeneration: 2, LastTransitionTime: up.LastTransitionTime}
	if !again.LastTransitionTime.Equal(want.LastTransitionTime) || again.Status != want.Status || again.Reason != want.Reason ||
		again.Message != want.Message || again.ObservedGeneration != want.ObservedGeneration || len(d.Applied.Conditions) != 1 {
		t.Fatalf("after the scale: conditions %+v, want only %+v", d.Applied.Conditions, want)
	}
}

// TestDeploymentReadyConditionSaysApplyFailed: a namespace whose
// ResourceQuota allows no Deployment refuses the apply: the deployment
// shows Ready False, reason ApplyFailed, with applied.error's text; once
// the quota is gone the retry applies it: Ready True, reason Applied.
func TestDeploymentReadyConditionSaysApplyFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	ctx := t.Context()
	if _, err := e.c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	none := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-deployments", Namespace: e.ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/deployments.apps": k8sresource.MustParse("0")}}}
	if _, err := e.c.Client.CoreV1().ResourceQuotas(e.ns).Create(ctx, none, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
		return err
	})
	d := e.deploymentUntil(t, "Ready False, ApplyFailed", func(d deploy.Deployment) bool {
		return len(d.Applied.Conditions) > 0 && d.Applied.Conditions[0].Reason == "ApplyFailed"
	})
	down := ready(t, d.Applied.Conditions)
	if down.Status != "False" || down.ObservedGeneration != 1 || down.Message != d.Applied.Error || d.Applied.Error == "" || d.Applied.Generation != 0 {
		t.Fatalf("refused: Ready %+v, applied.error %q, generation %d; want ApplyFailed of generation 1 with the error's text, nothing applied",
			down, d.Applied.Error, d.Applied.Generation)
	}

	if err := e.c.Client.CoreV1().ResourceQuotas(e.ns).Delete(ctx, "no-deployments", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	d = e.deploymentUntil(t, "Ready True", func(d deploy.Deployment) bool {
		return len(d.Applied.Conditions) > 0 && d.Applied.Conditions[0].Status == "True"
	})
	if up := ready(t, d.Applied.Conditions); up.Reason != "Applied" || d.Applied.Error != "" || d.Applied.Generation != 1 {
		t.Fatalf("applied: Ready %+v, applied.error %q, generation %d; want Applied, no error, generation 1", up, d.Applied.Error, d.Applied.Generation)
	}
}

// TestGrayPlanReadyConditionNamesTheStepThatFailed: a plan that would take
// over a user's Service shows Ready False, reason NotOwned (the claim
// step), with applied.error's text; once the user's Service is gone the
// plan applies and shows Ready True, reason Applied.
func TestGrayPlanReadyConditionNamesTheStepThatFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
		return err
	})
	e.status(t, kube.PhaseRunning, nil)
	mine := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "red-auth--v1", Namespace: e.ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "legacy"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	if _, err := e.c.Client.CoreV1().Services(e.ns).Create(t.Context(), mine, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Gray.Start(ctx, tx, alice, gray.Plan{Tenant: e.key.Tenant, Project: e.key.Project, Application: e.key.Application,
			Environment: e.key.Environment, GrayVersion: "v2", Steps: []gray.Step{{Tellers: []string{"T900"}}}})
		return err
	})
	ctrl := controller.NewGrayPlans(e.store, e.p.Gray, e.p.Config, e.reg, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	if _, err := ctrl.Reconcile(t.Context(), e.key); err != nil {
		t.Fatal(err)
	}
	p := e.plan(t)
	down := ready(t, p.Applied.Conditions)
	if down.Status != "False" || down.Reason != "NotOwned" || down.Message != p.Applied.Error || p.Applied.Error == "" ||
		down.ObservedGeneration != p.Generation {
		t.Fatalf("Ready %+v, applied.error %q; want False, NotOwned, the error's text, generation %d", down, p.Applied.Error, p.Generation)
	}

	if err := e.c.Client.CoreV1().Services(e.ns).Delete(t.Context(), "red-auth--v1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	e.reconcileUntil(t, ctrl, "Ready True", func(p gray.Plan) bool {
		return len(p.Applied.Conditions) > 0 && p.Applied.Conditions[0].Status == "True"
	})
	p = e.plan(t)
	up := ready(t, p.Applied.Conditions)
	if up.Reason != "Applied" || up.ObservedGeneration != p.Generation || p.Applied.Error != "" || !up.LastTransitionTime.After(down.LastTransitionTime) {
		t.Fatalf("Ready %+v after %+v, applied.error %q; want Applied of generation %d, later, no error", up, down, p.Applied.Error, p.Generation)
	}
}

// TestGrayPlanReadyConditionSaysRenderFailed: an environment whose
// traffic provider this Berth does not know (written by a newer one) cannot
// have its route rendered: Ready False, reason RenderFailed.
func TestGrayPlanReadyConditionSaysRenderFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
		return err
	})
	e.status(t, kube.PhaseRunning, nil)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Gray.Start(ctx, tx, alice, gray.Plan{Tenant: e.key.Tenant, Project: e.key.Project, Application: e.key.Application,
			Environment: e.key.Environment, GrayVersion: "v2", Steps: []gray.Step{{Tellers: []string{"T900"}}}})
		return err
	})
	e.do(t, func(ctx context.Context, tx platform.Tx) error { // past validation, as a newer Berth would have written it
		env, err := tx.GetEnvironment(ctx, e.key.Tenant, e.key.Project, e.key.Environment)
		if err != nil {
			return err
		}
		env.Traffic = "linkerd"
		env.ResourceVersion++
		return tx.UpdateEnvironment(ctx, env, env.ResourceVersion-1)
	})
	ctrl := controller.NewGrayPlans(e.store, e.p.Gray, e.p.Config, e.reg, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	if _, err := ctrl.Reconcile(t.Context(), e.key); err != nil {
		t.Fatal(err)
	}
	p := e.plan(t)
	if c := ready(t, p.Applied.Conditions); c.Status != "False" || c.Reason != "RenderFailed" || c.Message != p.Applied.Error || p.Applied.Error == "" {
		t.Fatalf("Ready %+v, applied.error %q; want False, RenderFailed, the error's text", c, p.Applied.Error)
	}
}
