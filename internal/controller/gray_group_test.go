package controller_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
)

// TestGrayGroupRunsEveryItemBesideStableAndAbortRemovesThem releases a
// three-application order by a gray group on the real cluster: every
// application runs its gray Deployment beside its stable one (at full
// scale) and both serve; after the group's abort no gray Deployment is
// left and every application still runs its stable version.
func TestGrayGroupRunsEveryItemBesideStableAndAbortRemovesThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	ctx := t.Context()
	appNames := []string{"red-auth", "blue-pay", "green-gw"}
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, app := range appNames[1:] {
			if _, err := e.p.Apps.CreateApplication(ctx, tx, alice, apps.Application{Tenant: "bank", Project: "channels", Name: app}); err != nil {
				return err
			}
			for _, v := range []string{"v1", "v2"} {
				if _, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: "bank", Project: "channels", Application: app,
					Name: v, Image: "registry.example.com/bank/" + app + ":" + v, Tier: "small",
					Orchestration: apps.Orchestration{Replicas: 1, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}},
					apps.VersionOptions{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	keys := make([]deploy.Key, len(appNames))
	var items []release.Item
	for i, app := range appNames {
		keys[i] = deploy.Key{Tenant: "bank", Project: "channels", Application: app, Environment: "test"}
		items = append(items, release.Item{Application: app, Version: "v2"})
	}
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, k := range keys {
			if _, err := e.p.Deploy.Deploy(ctx, tx, alice, k, "v1"); err != nil {
				return err
			}
		}
		return nil
	})
	for _, app := range appNames {
		e.appRunning(t, app)
	}
	var order release.Order
	e.do(t, func(ctx context.Context, tx platform.Tx) (err error) {
		order, err = e.p.Release.Create(ctx, tx, alice, release.Order{Tenant: "bank", Project: "channels", Environment: "test",
			Title: "channels 2.0", Items: items}, false)
		if err != nil {
			return err
		}
		_, _, err = e.p.GrayGroups.Start(ctx, tx, alice, order.Key(), gray.Plan{Steps: []gray.Step{{Tellers: []string{"T900"}}}})
		return err
	})

	ctrl := controller.NewGrayPlans(e.store, e.p.Gray, e.p.Config, e.reg, clock.Real{}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour)
	for _, k := range keys {
		e.reconcileKeyUntil(t, ctrl, k, k.Application+" serves v1 and v2", func(p gray.Plan) bool {
			return p.Group == order.ID && slices.Equal(p.Applied.Serving, []string{"v1", "v2"})
		})
	}
	for _, app := range appNames {
		if !e.exists(t, "Deployment", app+"--v2") || !e.exists(t, "Service", app+"--v2") {
			t.Fatalf("%s: no gray Deployment and Service beside the stable one", app)
		}
		main, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil || main.Spec.Template.Labels[kube.LabelVersion] != "v1" {
			t.Fatalf("%s: the main Deployment should keep running v1: %v", app, err)
		}
	}

	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, _, err := e.p.GrayGroups.Abort(ctx, tx, alice, order.Key(), "errors at teller T900")
		return err
	})
	for _, k := range keys {
		e.reconcileKeyUntil(t, ctrl, k, k.Application+" back to v1 alone", func(p gray.Plan) bool {
			return p.Phase == gray.Aborted && p.Applied.Generation == p.Generation && slices.Equal(p.Applied.Serving, []string{"v1"})
		})
	}
	for _, app := range appNames {
		if e.exists(t, "Deployment", app+"--v2") || e.exists(t, "Service", app+"--v2") {
			t.Fatalf("%s: a gray object is left after the group's abort", app)
		}
		main, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil || main.Spec.Template.Labels[kube.LabelVersion] != "v1" {
			t.Fatalf("%s: the main Deployment should still run v1: %v", app, err)
		}
	}
}

// appRunning waits until app's workload runs.
func (e *env) appRunning(t *testing.T, app string) {
	t.Helper()
	var last kube.Status
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		conn, err := e.reg.Get("local")
		if err != nil {
			return false, nil
		}
		last = conn.Status(kube.AppKey{Namespace: e.ns, App: app})
		return last.Phase == kube.PhaseRunning, nil
	})
	if err != nil {
		t.Fatalf("%s never ran: last %+v", app, last)
	}
}

// reconcileKeyUntil reconciles k's plan until done holds of it.
func (e *env) reconcileKeyUntil(t *testing.T, ctrl *controller.GrayPlans, k deploy.Key, what string, done func(gray.Plan) bool) {
	t.Helper()
	var p gray.Plan
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if _, err := ctrl.Reconcile(ctx, k); err != nil {
			t.Logf("reconcile %s: %v", k.Application, err)
		}
		err := e.p.DB.View(ctx, func(tx platform.Tx) (err error) {
			p, err = tx.GetPlan(ctx, k)
			return err
		})
		return err == nil && done(p), nil
	})
	if err != nil {
		t.Fatalf("%s: never; plan %s applied %+v", what, p.Phase, p.Applied)
	}
}
