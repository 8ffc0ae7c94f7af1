package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/catalog"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

var admin = platform.Caller{Actor: alice, Bindings: []authz.Binding{{Role: authz.PlatformAdmin}}}

// storeEnv is env with the app store: the Helm SDK renderer and the
// starter catalogue, as the engine wires them.
func storeEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	e.p.Store = platform.StoreOptions{Renderer: kube.ChartRenderer{},
		Catalogs: []appstore.Catalog{appstore.DirCatalog{Catalog: catalog.Name, FS: catalog.Charts}}}
	return e
}

func install(name, chart, values string) appstore.Install {
	return appstore.Install{Tenant: "bank", Project: "channels", Environment: "test", Name: name, Catalog: catalog.Name,
		Chart: chart, Version: "1.0.0", Values: values}
}

// applied waits until the controller has applied k's current generation
// and returns the deployment.
func (e *env) applied(t *testing.T, k deploy.Key) deploy.Deployment {
	t.Helper()
	var d deploy.Deployment
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := e.p.DB.View(ctx, func(tx platform.Tx) (err error) {
			d, err = tx.GetDeployment(ctx, k)
			return err
		})
		return err == nil && d.Applied.Generation == d.Generation && d.Applied.Error == "" && len(d.Applied.Inventory) > 0, nil
	})
	if err != nil {
		t.Fatalf("%s never applied: %+v", k.Path(), d.Applied)
	}
	return d
}

func inventory(t *testing.T, d deploy.Deployment) kube.Inventory {
	t.Helper()
	var inv kube.Inventory
	if err := json.Unmarshal(d.Applied.Inventory, &inv); err != nil {
		t.Fatal(err)
	}
	return inv
}

// Each starter chart installs into the environment's namespace with
// Berth's labels on every object and every pod, runs, and uninstalls
// leaving nothing behind.
func TestAppStoreInstallsEachStarterChartAndUninstallsIt(t *testing.T) {
	t.Parallel()
	e := storeEnv(t)
	conn, err := e.reg.AwaitReady(t.Context(), "local", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	charts := map[string]string{"shop": "java-service", "web": "static-site", "cache": "redis", "db": "postgresql"}
	want := map[string][]string{ // the kinds of each, as the inventory sorts them, read back from the cluster
		"shop": {"Deployment", "Service"}, "web": {"Deployment", "ConfigMap", "Service"},
		"cache": {"Deployment", "ConfigMap", "Service"}, "db": {"Deployment", "Service"}}
	all := map[string]kube.Inventory{}
	for name, chart := range charts {
		v, err := e.p.InstallChart(t.Context(), admin, install(name, chart, ""))
		if err != nil {
			t.Fatalf("install %s: %v", chart, err)
		}
		if v.Name != "r1" || v.Chart.Name != chart || v.Chart.Version != "1.0.0" {
			t.Fatalf("installed %s as %+v", chart, v)
		}
	}
	for name := range charts {
		d := e.applied(t, e.appKey(name))
		inv := inventory(t, d)
		all[name] = inv
		var kinds []string
		for _, ref := range inv {
			kinds = append(kinds, ref.Kind)
			obj, err := conn.Applier.Get(t.Context(), ref)
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			l := obj.GetLabels()
			if obj.GetNamespace() != e.ns || l[kube.LabelApp] != name || l[kube.LabelTenant] != "bank" ||
				l[kube.LabelProject] != "channels" || l[kube.LabelEnvironment] != "test" || l[kube.LabelManagedBy] != "berth" {
				t.Errorf("%s: namespace %s, labels %v", ref, obj.GetNamespace(), l)
			}
		}
		if strings.Join(kinds, ",") != strings.Join(want[name], ",") {
			t.Errorf("%s: applied %v, want %v", name, kinds, want[name])
		}
		e.appRuns(t, name, "r1") // the pods carry Berth's labels: the watcher finds them
	}
	list, err := e.p.Installs(t.Context(), admin, "bank", "channels")
	if err != nil || len(list) != 4 {
		t.Fatalf("installs %+v, %v; want 4", list, err)
	}
	for _, in := range list {
		if in.Chart.Name != charts[in.Deployment.Application] || in.Chart.Objects != nil {
			t.Errorf("listed %s as %+v", in.Deployment.Application, in.Chart)
		}
	}

	for name := range charts {
		if err := e.p.UninstallChart(t.Context(), admin, e.appKey(name), platform.UninstallOptions{}); err != nil {
			t.Fatalf("uninstall %s: %v", name, err)
		}
	}
	for name, inv := range all {
		for _, ref := range inv {
			err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
				_, err := conn.Applier.Get(ctx, ref)
				return apierrors.IsNotFound(err), nil
			})
			if err != nil {
				t.Errorf("%s of %s is still there", ref, name)
			}
		}
	}
	pods, err := e.c.Client.CoreV1().Pods(e.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			t.Errorf("pod %s is left", p.Name)
		}
	}
	if got := e.actions(t, "appstore.uninstall"); len(got) != 4 {
		t.Errorf("audited %d uninstalls, want 4", len(got))
	}
}

// A chart that does not fit the project's quota is refused before
// anything is written or applied, with the numbers; the refusal alone is
// audited.
func TestAppStoreRefusesAnInstallOverQuota(t *testing.T) {
	t.Parallel()
	e := storeEnv(t)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, s := range []tenancy.Scope{{Tenant: "bank"}, {Tenant: "bank", Project: "channels"}} {
			if _, err := e.p.Tenancy.SetQuota(ctx, tx, alice, tenancy.Quota{Scope: s,
				Hard: resource.List{resource.CPU: resource.MilliUnits(800), resource.Memory: resource.Units(4 << 30)}}); err != nil {
				return err
			}
		}
		return nil
	})
	// java-service: 2 replicas × 500m.
	_, err := e.p.InstallChart(t.Context(), admin, install("shop", "java-service", ""))
	var qe *resource.QuotaExceededError
	if !errors.As(err, &qe) || qe.Resource != resource.CPU || qe.Requested != resource.MilliUnits(1000) || qe.Limit != resource.MilliUnits(800) {
		t.Fatalf("install over quota: %v, want cpu requested 1 over limit 800m", err)
	}
	err = e.p.DB.View(t.Context(), func(tx platform.Tx) error {
		if _, err := tx.GetApplication(t.Context(), "bank", "channels", "shop"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("application after the refusal: %v", err)
		}
		page, err := e.p.Audit.List(t.Context(), tx, audit.Filter{Action: "appstore.install"}, resource.ListOptions{Limit: 10})
		if err != nil {
			return err
		}
		if len(page.Items) != 1 || page.Items[0].Outcome != audit.Failure || !strings.Contains(page.Items[0].Summary, "limit 800m") {
			t.Errorf("audit of the refusal: %+v", page.Items)
		}
		all, err := e.p.Audit.List(t.Context(), tx, audit.Filter{}, resource.ListOptions{Limit: 500})
		if err != nil {
			return err
		}
		for _, r := range all.Items {
			if strings.Contains(r.Target, "/applications/shop") && r.Action != "appstore.install" {
				t.Errorf("%s %s audited after the refusal", r.Action, r.Target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range []func() (int, error){
		func() (int, error) {
			l, err := e.c.Client.AppsV1().Deployments(e.ns).List(t.Context(), metav1.ListOptions{})
			return len(l.Items), err
		},
		func() (int, error) {
			l, err := e.c.Client.CoreV1().Services(e.ns).List(t.Context(), metav1.ListOptions{})
			return len(l.Items), err
		},
	} {
		if n, err := list(); err != nil && !apierrors.IsNotFound(err) || n != 0 {
			t.Errorf("%d objects in the namespace after the refusal (%v)", n, err)
		}
	}
	// One that fits installs.
	if _, err := e.p.InstallChart(t.Context(), admin, install("cache", "redis", "")); err != nil {
		t.Fatal(err)
	}
	e.applied(t, e.appKey("cache"))
}

// An upgrade whose pods crash-loop, released by a release order, is
// rolled back to the version before it.
func TestAppStoreUpgradeThatCrashLoopsRollsBack(t *testing.T) {
	t.Parallel()
	e := storeEnv(t)
	if _, err := e.p.InstallChart(t.Context(), admin, install("cache", "redis", "")); err != nil {
		t.Fatal(err)
	}
	e.appRuns(t, "cache", "r1")
	up := install("cache", "redis", "podLabels: {"+localcluster.SimulateLabel+": "+localcluster.SimulateCrashLoop+"}\nmaxmemory: 300mb\n")
	v, err := e.p.UpgradeChart(t.Context(), admin, up, platform.InstallOptions{VersionOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "r2" || v.Chart.Values != up.Values {
		t.Fatalf("upgrade made %+v", v)
	}
	o := e.startOrder(t, []release.Item{{Application: "cache", Version: "r2"}}, time.Minute)
	o = e.orderEnds(t, o.Key())
	if o.State != release.RolledBack || o.Failure == nil {
		t.Fatalf("order %s, want RolledBack: %+v", o.State, o.Items)
	}
	e.appRuns(t, "cache", "r1")
	cm, err := e.c.Client.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "cache-conf", metav1.GetOptions{})
	if err != nil || !strings.Contains(cm.Data["redis.conf"], "maxmemory 200mb") {
		t.Fatalf("configuration after the rollback: %v %v", cm.Data, err)
	}

	t.Run("an upgrade that runs", func(t *testing.T) {
		v, err := e.p.UpgradeChart(t.Context(), admin, install("cache", "redis", "maxmemory: 300mb\n"), platform.InstallOptions{})
		if err != nil || v.Name != "r3" {
			t.Fatalf("upgrade: %+v %v", v, err)
		}
		e.appRuns(t, "cache", "r3")
		e.applied(t, e.appKey("cache"))
		cm, err := e.c.Client.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "cache-conf", metav1.GetOptions{})
		if err != nil || !strings.Contains(cm.Data["redis.conf"], "maxmemory 300mb") {
			t.Fatalf("configuration after the upgrade: %v %v", cm.Data, err)
		}
	})
	t.Run("an application that is not an install is not upgraded", func(t *testing.T) {
		_, err := e.p.UpgradeChart(t.Context(), admin, install("red-auth", "redis", ""), platform.InstallOptions{})
		var ve *resource.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Path != "name" {
			t.Fatalf("upgrade of red-auth: %v", err)
		}
	})
	t.Run("an install is scaled through its values, not by scale, and has no gray plans", func(t *testing.T) {
		err := e.p.Do(t.Context(), alice, audit.Event{Action: "test"}, func(tx platform.Tx) error {
			_, err := e.p.ScaleDeployment(t.Context(), tx, admin, e.appKey("cache"), 5)
			return err
		})
		var ve *resource.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Path != "replicas" {
			t.Fatalf("scale of an install: %v", err)
		}
		err = e.p.Do(t.Context(), alice, audit.Event{Action: "test"}, func(tx platform.Tx) error {
			_, err := e.p.StartGrayPlan(t.Context(), tx, admin, gray.Plan{Tenant: "bank", Project: "channels", Application: "cache",
				Environment: "test", GrayVersion: "r1"})
			return err
		})
		if !errors.As(err, &ve) || ve.Fields[0].Path != "grayVersion" {
			t.Fatalf("gray plan of an install: %v", err)
		}
	})
	t.Run("install refuses an existing name", func(t *testing.T) {
		if _, err := e.p.InstallChart(t.Context(), admin, install("cache", "redis", "")); !errors.Is(err, resource.ErrConflict) {
			t.Fatalf("second install: %v", err)
		}
	})
}
