package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

var services = []string{"svc-a", "svc-b", "svc-c", "svc-d", "svc-e", "svc-f"}

// releaseFixture adds the six services, each with versions v1 and v2 that
// run well, v2-crash whose pods crash-loop and v2-never whose pods never
// become ready, and runs v1 of every one of them.
func (e *env) releaseFixture(t *testing.T) {
	t.Helper()
	e.fixture(t)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, app := range services {
			if _, err := e.p.Apps.CreateApplication(ctx, tx, alice, apps.Application{Tenant: "bank", Project: "channels", Name: app}); err != nil {
				return err
			}
			for _, v := range []struct{ name, simulate string }{{"v1", ""}, {"v2", ""},
				{"v2-crash", localcluster.SimulateCrashLoop}, {"v2-never", localcluster.SimulateNeverReady}} {
				o := apps.Orchestration{Replicas: 2, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}
				if v.simulate != "" {
					o.PodLabels = map[string]string{localcluster.SimulateLabel: v.simulate}
				}
				_, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: "bank", Project: "channels", Application: app,
					Name: v.name, Image: "registry.example.com/bank/" + app + ":" + v.name, Tier: "small", Orchestration: o}, apps.VersionOptions{})
				if err != nil {
					return err
				}
			}
			if _, err := e.p.Deploy.Deploy(ctx, tx, alice, e.appKey(app), "v1"); err != nil {
				return err
			}
		}
		return nil
	})
	for _, app := range services {
		e.appRuns(t, app, "v1")
	}
}

func (e *env) appKey(app string) deploy.Key {
	return deploy.Key{Tenant: "bank", Project: "channels", Application: app, Environment: "test"}
}

// appRuns waits until app runs version in the cluster with every pod of that
// version and ready, and checks the Deployment object itself.
func (e *env) appRuns(t *testing.T, app, version string) {
	t.Helper()
	var last kube.Status
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		conn, err := e.reg.Get("local")
		if err != nil {
			return false, nil
		}
		last = conn.Status(kube.AppKey{Namespace: e.ns, App: app})
		if last.Phase != kube.PhaseRunning || last.Version != version || len(last.Pods) != int(last.Desired) {
			return false, nil
		}
		for _, p := range last.Pods {
			if p.Version != version || !p.Ready {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%s never ran only %s: last %+v", app, version, last)
	}
	d, err := e.c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Labels[kube.LabelVersion]; got != version {
		t.Fatalf("Deployment %s runs %s, want %s", app, got, version)
	}
}

// staged is the 3-stage order of the six services: a,b then c,d then e,f.
func staged(versions map[string]string) []release.Item {
	var stages [][]release.Item
	for i := 0; i < len(services); i += 2 {
		var stage []release.Item
		for _, app := range services[i : i+2] {
			v := versions[app]
			if v == "" {
				v = "v2"
			}
			stage = append(stage, release.Item{Application: app, Version: v})
		}
		stages = append(stages, stage)
	}
	return release.Stages(stages)
}

// startOrder creates and starts an order in the test environment.
func (e *env) startOrder(t *testing.T, items []release.Item, deadline time.Duration) release.Order {
	t.Helper()
	var o release.Order
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		var err error
		o, err = e.p.Release.Create(ctx, tx, alice, release.Order{Tenant: "bank", Project: "channels", Environment: "test",
			Title: "quarterly release", Ticket: "CHG-1", Items: items, Parallelism: 2, Deadline: resource.Duration{Duration: deadline}}, false)
		if err != nil {
			return err
		}
		o, err = e.p.Release.Start(ctx, tx, alice, o.Key())
		return err
	})
	return o
}

// orderEnds waits for the order to reach a final state.
func (e *env) orderEnds(t *testing.T, k release.Key) release.Order {
	t.Helper()
	var o release.Order
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := e.p.DB.View(ctx, func(tx platform.Tx) (err error) {
			o, err = tx.GetOrder(ctx, k.Tenant, k.Project, k.ID)
			return err
		})
		return err == nil && o.State.Final(), err
	})
	if err != nil {
		t.Fatalf("order %s never finished: %v; last %s %+v", k.ID, err, o.State, o.Items)
	}
	return o
}

func TestAThreeStageOrderOfSixServicesSucceeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.releaseFixture(t)
	o := e.startOrder(t, staged(nil), time.Minute)
	o = e.orderEnds(t, o.Key())
	if o.State != release.Succeeded {
		t.Fatalf("order %s, want Succeeded: %+v", o.State, o.Items)
	}
	if p := o.Progress(); p.Done != 6 || p.Failed != 0 {
		t.Errorf("progress %+v", p)
	}
	// Stage order: no item of a stage started before the previous stage
	// had finished.
	for _, it := range o.Items {
		for _, dep := range it.DependsOn {
			if d := o.Item(dep); it.StartedAt.Before(*d.FinishedAt) {
				t.Errorf("%s started at %s before %s finished at %s", it.Application, it.StartedAt, dep, d.FinishedAt)
			}
		}
		if it.Before == nil || it.Before.Version != "v1" {
			t.Errorf("%s recorded before %+v, want v1", it.Application, it.Before)
		}
	}
	for _, app := range services {
		e.appRuns(t, app, "v2")
	}
	if got := e.actions(t, "release.item-succeeded"); len(got) != 6 {
		t.Errorf("audited %d item successes, want 6", len(got))
	}
	e.checkNotified(t, "release.started", "release.succeeded")

	t.Run("manual rollback of chosen items", func(t *testing.T) {
		var back release.Order
		e.do(t, func(ctx context.Context, tx platform.Tx) (err error) {
			back, err = e.p.Release.Rollback(ctx, tx, alice, o.Key(), release.RollbackRequest{
				Items: []string{"svc-c", "svc-e"}, To: map[string]string{"svc-e": "v1"}, Reason: "wrong fee rounding"})
			return err
		})
		if back.RollbackOf != o.ID || len(back.Items) != 2 {
			t.Fatalf("rollback order %+v", back)
		}
		// svc-e depends on svc-c, so svc-c's rollback waits for svc-e's.
		if c := back.Item("svc-c"); len(c.DependsOn) != 1 || c.DependsOn[0] != "svc-e" {
			t.Errorf("svc-c depends on %v, want [svc-e]", c.DependsOn)
		}
		back = e.orderEnds(t, back.Key())
		if back.State != release.Succeeded {
			t.Fatalf("rollback order %s: %+v", back.State, back.Items)
		}
		e.appRuns(t, "svc-c", "v1")
		e.appRuns(t, "svc-e", "v1")
		e.appRuns(t, "svc-d", "v2")
		var again error
		_ = e.p.DB.InTx(t.Context(), func(tx platform.Tx) error {
			_, again = e.p.Release.Rollback(t.Context(), tx, alice, o.Key(), release.RollbackRequest{})
			return nil
		})
		if !strings.Contains(fmt.Sprint(again), "already rolled back by order "+back.ID) {
			t.Errorf("second rollback: %v", again)
		}
	})
}

func TestACrashLoopRollsEveryServiceBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.releaseFixture(t)
	// svc-d is in the second stage: a and b succeed, c deploys beside it.
	o := e.startOrder(t, staged(map[string]string{"svc-d": "v2-crash"}), time.Minute)
	o = e.orderEnds(t, o.Key())
	if o.State != release.RolledBack {
		t.Fatalf("order %s, want RolledBack: %+v", o.State, o.Items)
	}
	f := o.Failure
	if f == nil || f.Item != "svc-d" || f.Reason != "CrashLoopBackOff" || !strings.HasPrefix(f.Pod, "svc-d-") {
		t.Fatalf("failure %+v, want svc-d CrashLoopBackOff with its pod", f)
	}
	for _, app := range []string{"svc-e", "svc-f"} {
		if it := o.Item(app); it.State != release.ItemCancelled || it.Before != nil {
			t.Errorf("%s: %s, before %+v; want cancelled, never started", app, it.State, it.Before)
		}
	}
	for _, app := range []string{"svc-a", "svc-b", "svc-c", "svc-d"} {
		if it := o.Item(app); it.State != release.ItemRolledBack {
			t.Errorf("%s: %s, want RolledBack", app, it.State)
		}
	}
	for _, app := range services {
		e.appRuns(t, app, "v1")
		if d := e.deploymentOf(t, app); d.Version != "v1" {
			t.Errorf("%s desired version %s, want v1", app, d.Version)
		}
	}
	got := strings.Join(e.actions(t, "release."), " ")
	for _, want := range []string{"release.item-failed", "release.failed", "release.item-rollback", "release.rolled-back"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %s: %s", want, got)
		}
	}
	e.checkNotified(t, "release.failed", "release.rolled-back")
}

func TestANeverReadyVersionHitsItsDeadlineAndRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.releaseFixture(t)
	items := staged(map[string]string{"svc-a": "v2-never"})
	o := e.startOrder(t, items, 4*time.Second)
	o = e.orderEnds(t, o.Key())
	if o.State != release.RolledBack || o.Failure == nil || o.Failure.Item != "svc-a" || o.Failure.Reason != "DeadlineExceeded" {
		t.Fatalf("order %s failure %+v, want svc-a DeadlineExceeded", o.State, o.Failure)
	}
	for _, app := range services {
		e.appRuns(t, app, "v1")
	}
}

func TestAnOrderStartedBeforeACrashFinishesAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, dir)
	e.releaseFixture(t)
	o := e.startOrder(t, staged(nil), time.Minute)
	// Stop the controllers in the middle of the order, once the first
	// stage has started, and start new ones over the same database.
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var cur release.Order
		err := e.p.DB.View(ctx, func(tx platform.Tx) (err error) {
			cur, err = tx.GetOrder(ctx, o.Tenant, o.Project, o.ID)
			return err
		})
		return err == nil && cur.Progress().Pending < len(services), err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.stop()
	e2 := newEnv(t, dir)
	e2.ns, e2.key = e.ns, e.key
	o = e2.orderEnds(t, o.Key())
	if o.State != release.Succeeded {
		t.Fatalf("order %s: %+v", o.State, o.Items)
	}
	for _, app := range services {
		e2.appRuns(t, app, "v2")
	}
}

func TestTwoOrdersCannotHoldOneApplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.releaseFixture(t)
	first := e.startOrder(t, []release.Item{{Application: "svc-a", Version: "v2-never"}}, time.Hour)
	err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		o, err := e.p.Release.Create(t.Context(), tx, alice, release.Order{Tenant: "bank", Project: "channels", Environment: "test",
			Title: "second", Items: []release.Item{{Application: "svc-b", Version: "v2"}, {Application: "svc-a", Version: "v2"}}}, false)
		if err != nil {
			return err
		}
		_, err = e.p.Release.Start(t.Context(), tx, alice, o.Key())
		return err
	})
	if want := "svc-a (by order " + first.ID + ")"; !strings.Contains(fmt.Sprint(err), want) {
		t.Fatalf("second start: %v; want it refused naming %s", err, want)
	}
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Release.Abort(ctx, tx, alice, first.Key(), "test over")
		return err
	})
	if o := e.orderEnds(t, first.Key()); o.State != release.RolledBack || o.Failure.Reason != "Aborted" {
		t.Fatalf("aborted order %s %+v", o.State, o.Failure)
	}
	e.appRuns(t, "svc-a", "v1")
}

func (e *env) deploymentOf(t *testing.T, app string) deploy.Deployment {
	t.Helper()
	var d deploy.Deployment
	err := e.p.DB.View(t.Context(), func(tx platform.Tx) (err error) {
		d, err = tx.GetDeployment(t.Context(), e.appKey(app))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkNotified checks the outbox holds a message for each event (no
// sender runs in these tests, so nothing is taken out).
func (e *env) checkNotified(t *testing.T, events ...string) {
	t.Helper()
	err := e.p.DB.View(t.Context(), func(tx platform.Tx) error {
		ms, err := tx.PendingNotifications(t.Context(), 100)
		got := map[string]bool{}
		for _, m := range ms {
			got[m.Event] = true
		}
		for _, ev := range events {
			if !got[ev] {
				t.Errorf("no %s notification among %d", ev, len(ms))
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
