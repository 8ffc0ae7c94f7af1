package controller_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
)

// TestGrayPlanRunsTheSecondVersionBesideAndRemovesIt starts a plan on the
// real cluster and checks the world: the stable per-version Service first,
// then (once it serves) the gray Deployment selecting only gray pods and its
// Service; the plan records both as serving; an abort removes the gray
// objects and keeps the stable Service routes use.
func TestGrayPlanRunsTheSecondVersionBesideAndRemovesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	ctx := t.Context()
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
	ctrl := controller.NewGrayPlans(e.store, e.p.Gray, e.p.Config, e.reg, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	reconcileUntil := func(what string, done func(gray.Plan) bool) { e.reconcileUntil(t, ctrl, what, done) }
	reconcileUntil("both versions serve", func(p gray.Plan) bool { return slices.Equal(p.Applied.Serving, []string{"v1", "v2"}) })

	d, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, "red-auth--v2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel := d.Spec.Selector.MatchLabels
	if sel[kube.LabelApp] != "red-auth" || sel[kube.LabelVersion] != "v2" || d.Spec.Template.Labels[kube.LabelVersion] != "v2" {
		t.Fatalf("gray Deployment selects %v with pod labels %v", sel, d.Spec.Template.Labels)
	}
	for _, name := range []string{"red-auth--v1", "red-auth--v2"} {
		svc, err := e.c.Client.CoreV1().Services(e.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v := svc.Spec.Selector[kube.LabelVersion]; name != "red-auth--"+v {
			t.Fatalf("Service %s selects version %q", name, v)
		}
	}
	main, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil || main.Spec.Template.Labels[kube.LabelVersion] != "v1" || *main.Spec.Replicas != 2 {
		t.Fatalf("the main Deployment should keep running v1 at full scale: %v", err)
	}

	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Gray.Abort(ctx, tx, alice, e.key, "test")
		return err
	})
	reconcileUntil("the gray objects are removed", func(p gray.Plan) bool {
		return p.Applied.Generation == p.Generation && slices.Equal(p.Applied.Serving, []string{"v1"})
	})
	for _, get := range []func() error{
		func() error {
			_, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, "red-auth--v2", metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := e.c.Client.CoreV1().Services(e.ns).Get(ctx, "red-auth--v2", metav1.GetOptions{})
			return err
		},
	} {
		if err := get(); !apierrors.IsNotFound(err) {
			t.Fatalf("gray object still there after abort: %v", err)
		}
	}
	if _, err := e.c.Client.CoreV1().Services(e.ns).Get(ctx, "red-auth--v1", metav1.GetOptions{}); err != nil {
		t.Fatalf("the stable per-version Service routes use was removed: %v", err)
	}
}

func (e *env) plan(t *testing.T) gray.Plan {
	t.Helper()
	var p gray.Plan
	if err := e.p.DB.View(t.Context(), func(tx platform.Tx) error {
		var err error
		p, err = tx.GetPlan(t.Context(), e.key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// reconcileUntil reconciles the plan until done holds of it.
func (e *env) reconcileUntil(t *testing.T, ctrl *controller.GrayPlans, what string, done func(gray.Plan) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if _, err := ctrl.Reconcile(ctx, e.key); err != nil {
			t.Logf("reconcile: %v", err)
		}
		return done(e.plan(t)), nil
	})
	if err != nil {
		t.Fatalf("%s: never; plan %s applied %+v", what, e.plan(t).Phase, e.plan(t).Applied)
	}
}

func (e *env) exists(t *testing.T, kind, name string) bool {
	t.Helper()
	var err error
	switch kind {
	case "Deployment":
		_, err = e.c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	default:
		_, err = e.c.Client.CoreV1().Services(e.ns).Get(t.Context(), name, metav1.GetOptions{})
	}
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

// TestPromotionKeepsTheOldVersionUntilItsTimeThenRemovesIt promotes with a
// keep-old time: the old version keeps a full copy beside the main
// Deployment (now rolled to the new one) and serves; when the controller's
// clock passes the time the plan ends on its own and the old copy goes.
func TestPromotionKeepsTheOldVersionUntilItsTimeThenRemovesIt(t *testing.T) {
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
			Environment: e.key.Environment, GrayVersion: "v2", Strategy: gray.BlueGreen, Side: "gray"})
		return err
	})
	fake := clock.NewFake(time.Now())
	ctrl := controller.NewGrayPlans(e.store, e.p.Gray, e.p.Config, e.reg, fake, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	e.reconcileUntil(t, ctrl, "both versions serve", func(p gray.Plan) bool { return slices.Equal(p.Applied.Serving, []string{"v1", "v2"}) })

	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Gray.Promote(ctx, tx, alice, e.key, time.Hour)
		return err
	})
	e.reconcileUntil(t, ctrl, "the old copy serves", func(p gray.Plan) bool {
		return slices.Contains(p.Applied.Serving, "v1") && p.Applied.Generation == p.Generation
	})
	if !e.exists(t, "Deployment", "red-auth--v1") || !e.exists(t, "Service", "red-auth--v1") {
		t.Fatal("promoted with keep-old, but the old version's copy or Service is missing")
	}
	e.status(t, kube.PhaseRunning, func(s kube.Status) bool { return s.Pods != nil }) // the main Deployment rolls to v2

	fake.Advance(61 * time.Minute)
	e.reconcileUntil(t, ctrl, "the plan ends when keep-old is over", func(p gray.Plan) bool { return p.Phase == gray.Ended })
	e.reconcileUntil(t, ctrl, "the old copy is removed", func(gray.Plan) bool {
		return !e.exists(t, "Deployment", "red-auth--v1") && !e.exists(t, "Service", "red-auth--v1")
	})
	e.reconcileUntil(t, ctrl, "the gray copy goes once the main Deployment runs v2", func(gray.Plan) bool {
		return !e.exists(t, "Deployment", "red-auth--v2")
	})
	if !e.exists(t, "Service", "red-auth--v2") {
		t.Fatal("the new stable version's Service, which routes use, was removed")
	}
	if got := e.actions(t, "grayplan.end"); len(got) != 1 {
		t.Fatalf("want one grayplan.end record (by the system), got %v", got)
	}
}

// TestGrayPlanInAnIstioEnvironmentWritesMeshRoutes: with traffic: istio
// the plan's route becomes a DestinationRule (a subset per version) and a
// VirtualService sending the pilot teller to gray, accepted by the API
// server with the real Istio CRDs; an abort takes gray out of them.
func TestGrayPlanInAnIstioEnvironmentWritesMeshRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.c.InstallCRDs(t, clustertest.ModuleFile(t, "istio.io/api", "kubernetes/customresourcedefinitions.gen.yaml"))
	e.fixture(t)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		env, err := tx.GetEnvironment(ctx, e.key.Tenant, e.key.Project, e.key.Environment)
		if err != nil {
			return err
		}
		env.Traffic = "istio"
		if _, err := e.p.Tenancy.UpdateEnvironment(ctx, tx, alice, env); err != nil {
			return err
		}
		_, err = e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
		return err
	})
	e.status(t, kube.PhaseRunning, nil)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Gray.Start(ctx, tx, alice, gray.Plan{Tenant: e.key.Tenant, Project: e.key.Project, Application: e.key.Application,
			Environment: e.key.Environment, GrayVersion: "v2", Steps: []gray.Step{{Tellers: []string{"T900"}}}})
		return err
	})
	ctrl := controller.NewGrayPlans(e.store, e.p.Gray, e.p.Config, e.reg, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	e.reconcileUntil(t, ctrl, "both versions serve", func(p gray.Plan) bool { return slices.Equal(p.Applied.Serving, []string{"v1", "v2"}) })
	e.reconcileUntil(t, ctrl, "the routes follow", func(p gray.Plan) bool { return p.Applied.Generation == p.Generation && p.Applied.Error == "" })
	dyn, err := dynamic.NewForConfig(e.c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	vsRes := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	drRes := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}
	vs, err := dyn.Resource(vsRes).Namespace(e.ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := vs.MarshalJSON()
	if !strings.Contains(string(body), "x-org-teller") && !strings.Contains(string(body), "X-Org-Teller") {
		t.Fatalf("VirtualService does not match the teller header: %s", body)
	}
	if !strings.Contains(string(body), "T900") || !strings.Contains(string(body), `"gray"`) {
		t.Fatalf("VirtualService does not send T900 to the gray subset: %s", body)
	}
	if _, err := dyn.Resource(drRes).Namespace(e.ns).Get(t.Context(), "red-auth", metav1.GetOptions{}); err != nil {
		t.Fatalf("DestinationRule: %v", err)
	}
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Gray.Abort(ctx, tx, alice, e.key, "test")
		return err
	})
	e.reconcileUntil(t, ctrl, "the abort is applied", func(p gray.Plan) bool { return p.Applied.Generation == p.Generation })
	vs, err = dyn.Resource(vsRes).Namespace(e.ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := vs.MarshalJSON(); strings.Contains(string(body), "T900") {
		t.Fatalf("after abort the VirtualService still routes T900: %s", body)
	}
}

// TestGrayPlanNeverTakesOverAUsersObject: a Service of the user's that
// bears a per-version Service's name is left as it is and the plan says why
// nothing was applied.
func TestGrayPlanNeverTakesOverAUsersObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
		return err
	})
	e.status(t, kube.PhaseRunning, nil)
	mine := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "red-auth--v1", Namespace: e.ns, Labels: map[string]string{"team": "ops"}},
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
	if got := e.plan(t).Applied.Error; !strings.Contains(got, "red-auth--v1 exists and is not Berth's") {
		t.Fatalf("applied error %q, want the user's Service named", got)
	}
	svc, err := e.c.Client.CoreV1().Services(e.ns).Get(t.Context(), "red-auth--v1", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["app"] != "legacy" || svc.Labels[kube.LabelManagedBy] != "" {
		t.Fatalf("the user's Service was changed: %v %+v", err, svc)
	}
	if e.exists(t, "Deployment", "red-auth--v2") {
		t.Fatal("the gray Deployment was created although its plan could not route")
	}
}
