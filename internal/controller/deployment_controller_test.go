package controller_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	kptr "k8s.io/utils/ptr"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

var alice = audit.Actor{User: "alice", Roles: []string{"platform-admin"}}

// env is a platform over a real SQLite store, registered with the shared
// local cluster, with both controllers running.
type env struct {
	p       *platform.Platform
	reg     *kube.Registry
	ctrl    *controller.Deployments
	rel     *controller.Releases
	c       *clustertest.Cluster
	ns      string
	key     deploy.Key
	stop    context.CancelFunc
	store   *store.Store
	changes *change.Bus
}

func newEnv(t *testing.T, dataDir string) *env {
	t.Helper()
	c := clustertest.Start(t)
	e := &env{c: c}
	st, err := store.Open(t.Context(), dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	e.store = st
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	changes := change.NewBus()
	e.changes = changes
	e.p, err = platform.New(st, platform.Options{Clock: clock.Real{}, Sealer: sealer, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	e.reg = kube.NewRegistry(log, func(cluster string, k kube.AppKey) { e.ctrl.ClusterChanged(cluster, k) })
	e.ctrl = controller.NewDeployments(st, e.p.Deploy, e.p.Config, e.reg, log, time.Hour)
	e.rel = controller.NewReleases(st, e.p.Release, e.reg, log, 0)
	e.ctrl.Subscribe(changes)
	e.rel.Subscribe(changes)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = func() { cancel(); e.reg.Close(); st.Close() }
	t.Cleanup(func() { e.stop() })
	go e.ctrl.Run(ctx, 4)
	go e.rel.Run(ctx, 2)
	clusters := controller.NewClusters(e.p, e.reg, log)
	go clusters.Run(ctx, 200*time.Millisecond)
	return e
}

// fixture registers the local cluster and creates tenant, project,
// environment (a fresh namespace), application and two versions.
func (e *env) fixture(t *testing.T) {
	t.Helper()
	kubeconfig, err := os.ReadFile(e.c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	e.ns = "berth-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	if len(e.ns) > 60 {
		e.ns = e.ns[:60]
	}
	t.Cleanup(func() {
		_ = e.c.Client.CoreV1().Namespaces().Delete(context.Background(), e.ns, metav1.DeleteOptions{})
	})
	e.key = deploy.Key{Tenant: "bank", Project: "channels", Application: "red-auth", Environment: "test"}
	ctx := t.Context()
	err = e.p.Do(ctx, alice, audit.Event{Action: "fixture"}, func(tx platform.Tx) error {
		steps := []func() error{
			func() error {
				_, err := e.p.Tenancy.CreateTenant(ctx, tx, alice, tenancy.Tenant{Name: "bank"})
				return err
			},
			func() error {
				_, err := e.p.Tenancy.CreateProject(ctx, tx, alice, tenancy.Project{Tenant: "bank", Name: "channels"})
				return err
			},
			func() error {
				_, err := e.p.Tenancy.RegisterCluster(ctx, tx, alice, tenancy.Cluster{Name: "local"}, kubeconfig)
				return err
			},
			func() error {
				_, err := e.p.Tenancy.CreateEnvironment(ctx, tx, alice, tenancy.Environment{Tenant: "bank", Project: "channels",
					Name: "test", Cluster: "local", Namespace: e.ns})
				return err
			},
			func() error {
				_, err := e.p.Apps.CreateTier(ctx, tx, alice, apps.Tier{Name: "small", Capacity: "~100 TPS", Resources: apps.Resources{
					Requests: resource.List{resource.CPU: resource.MilliUnits(250), resource.Memory: resource.Units(256 << 20)}}})
				return err
			},
			func() error {
				_, err := e.p.Apps.CreateApplication(ctx, tx, alice, apps.Application{Tenant: "bank", Project: "channels", Name: "red-auth"})
				return err
			},
		}
		for _, v := range []string{"v1", "v2"} {
			steps = append(steps, func() error {
				_, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: "bank", Project: "channels", Application: "red-auth",
					Name: v, Image: "registry.example.com/bank/red-auth:" + v, Tier: "small",
					Orchestration: apps.Orchestration{Replicas: 2, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}},
					apps.VersionOptions{})
				return err
			})
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) do(t *testing.T, op func(ctx context.Context, tx platform.Tx) error) {
	t.Helper()
	if err := e.p.Do(t.Context(), alice, audit.Event{Action: "test"}, func(tx platform.Tx) error { return op(t.Context(), tx) }); err != nil {
		t.Fatal(err)
	}
}

func (e *env) status(t *testing.T, want kube.Phase, check func(kube.Status) bool) kube.Status {
	t.Helper()
	var last kube.Status
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		conn, err := e.reg.Get("local")
		if err != nil {
			return false, nil
		}
		last = conn.Status(kube.AppKey{Namespace: e.ns, App: "red-auth"})
		return last.Phase == want && (check == nil || check(last)), nil
	})
	if err != nil {
		t.Fatalf("status never became %s: last %+v", want, last)
	}
	return last
}

func (e *env) deployment(t *testing.T) deploy.Deployment {
	t.Helper()
	var d deploy.Deployment
	err := e.p.DB.View(t.Context(), func(tx platform.Tx) error {
		var err error
		d, err = tx.GetDeployment(t.Context(), e.key)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *env) actions(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	err := e.p.DB.View(t.Context(), func(tx platform.Tx) error {
		page, err := e.p.Audit.List(t.Context(), tx, audit.Filter{Action: prefix}, resource.ListOptions{Limit: 500})
		for _, r := range page.Items {
			out = append(out, r.Action)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeployOperateAndDeleteThroughTheController(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	k := e.key
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, k, "v1")
		return err
	})
	s := e.status(t, kube.PhaseRunning, func(s kube.Status) bool { return s.Ready == 2 })
	if s.Version != "v1" {
		t.Errorf("running version %s, want v1", s.Version)
	}
	ns, err := e.c.Client.CoreV1().Namespaces().Get(t.Context(), e.ns, metav1.GetOptions{})
	if err != nil || ns.Labels[kube.LabelTenant] != "bank" || ns.Labels[kube.LabelEnvironment] != "test" {
		t.Fatalf("namespace %v: %v", ns.Labels, err)
	}
	if d := e.deployment(t); d.Applied.Generation != d.Generation || d.Applied.Error != "" || len(d.Applied.Inventory) == 0 {
		t.Errorf("applied bookkeeping %+v", d.Applied)
	}

	t.Run("scale", func(t *testing.T) {
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Scale(ctx, tx, alice, k, 4)
			return err
		})
		e.status(t, kube.PhaseRunning, func(s kube.Status) bool { return s.Ready == 4 })
	})
	t.Run("a new version rolls out", func(t *testing.T) {
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Deploy(ctx, tx, alice, k, "v2")
			return err
		})
		e.status(t, kube.PhaseRunning, func(s kube.Status) bool { return s.Version == "v2" && s.Ready == 4 })
	})
	t.Run("an edit by someone else is put back and audited", func(t *testing.T) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			d, err := e.c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
			if err != nil {
				return err
			}
			d.Spec.Replicas = kptr.To[int32](1)
			d.Spec.Template.Spec.Containers[0].Image = "registry.example.com/bank/red-auth:hotfix"
			_, err = e.c.Client.AppsV1().Deployments(e.ns).Update(t.Context(), d, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			d, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, "red-auth", metav1.GetOptions{})
			return err == nil && *d.Spec.Replicas == 4 && strings.HasSuffix(d.Spec.Template.Spec.Containers[0].Image, ":v2"), nil
		})
		if err != nil {
			t.Fatal("the edit was not put back")
		}
		err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return len(e.actions(t, "deployment.drift-repaired")) > 0, nil
		})
		if err != nil {
			t.Error("the repair was not audited")
		}
	})
	t.Run("stop and start", func(t *testing.T) {
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Stop(ctx, tx, alice, k)
			return err
		})
		e.status(t, kube.PhaseStopped, nil)
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Start(ctx, tx, alice, k)
			return err
		})
		e.status(t, kube.PhaseRunning, func(s kube.Status) bool { return s.Ready == 4 })
	})
	t.Run("restart replaces every pod", func(t *testing.T) {
		before := map[string]bool{}
		for _, p := range e.status(t, kube.PhaseRunning, nil).Pods {
			before[p.Name] = true
		}
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Restart(ctx, tx, alice, k)
			return err
		})
		e.status(t, kube.PhaseRunning, func(s kube.Status) bool {
			if s.Ready != 4 || len(s.Pods) != 4 {
				return false
			}
			for _, p := range s.Pods {
				if before[p.Name] {
					return false
				}
			}
			return true
		})
	})
	t.Run("delete removes the objects, then the record", func(t *testing.T) {
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Delete(ctx, tx, alice, k)
			return err
		})
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, "red-auth", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return false, nil
			}
			err = e.p.DB.View(ctx, func(tx platform.Tx) error { _, err := tx.GetDeployment(ctx, k); return err })
			return errors.Is(err, resource.ErrNotFound), nil
		})
		if err != nil {
			t.Fatal("deployment or its record still there")
		}
		if _, err := e.c.Client.CoreV1().Services(e.ns).Get(t.Context(), "red-auth", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("service not deleted: %v", err)
		}
	})
}

func TestADeployWrittenBeforeACrashIsAppliedAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := newEnv(t, dir)
	e.fixture(t)
	// The change is committed while no controller runs: stop it first.
	e.stop()
	st, err := store.Open(t.Context(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	p, err := platform.New(st, platform.Options{Clock: clock.Real{}, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Do(t.Context(), alice, audit.Event{Action: "test"}, func(tx platform.Tx) error {
		_, err := p.Deploy.Deploy(t.Context(), tx, alice, e.key, "v1")
		return err
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	restarted := newEnv(t, dir)
	restarted.ns, restarted.key = e.ns, e.key
	restarted.status(t, kube.PhaseRunning, func(s kube.Status) bool { return s.Ready == 2 })
	pods, err := e.c.Client.CoreV1().Pods(e.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod %s is %s", p.Name, p.Status.Phase)
		}
	}
}
