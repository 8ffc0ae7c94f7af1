package controller_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// testCharts is a catalogue "test" of charts written for these tests:
// "hooked", whose hooks are a ConfigMap (pre-install, weight -5, kept), a
// Job (pre-install and pre-upgrade, weight 0, deleted once it succeeds;
// its pods exit with the value migrateExit) and a Job (post-install,
// kept); and "widgets", which carries a CustomResourceDefinition and one
// object of its kind.
var testCharts = fstest.MapFS{
	"hooked/Chart.yaml":  {Data: []byte("apiVersion: v2\nname: hooked\nversion: 1.0.0\n")},
	"hooked/values.yaml": {Data: []byte("migrateExit: \"0\"\nimage: registry.example.com/bank/hooked:1.0.0\n")},
	"hooked/templates/deployment.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}}
spec:
  replicas: 1
  selector: {matchLabels: {hooked: {{ .Release.Name }}}}
  template:
    metadata: {labels: {hooked: {{ .Release.Name }}}}
    spec:
      containers: [{name: app, image: {{ .Values.image }}, resources: {requests: {cpu: 50m, memory: 32Mi}}}]
`)},
	"hooked/templates/pre-config.yaml": {Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-pre-config
  annotations: {helm.sh/hook: pre-install, helm.sh/hook-weight: "-5"}
data: {revision: "{{ .Release.Revision }}"}
`)},
	"hooked/templates/migrate.yaml": {Data: []byte(`apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations: {helm.sh/hook: "pre-install,pre-upgrade", helm.sh/hook-weight: "0", helm.sh/hook-delete-policy: "before-hook-creation,hook-succeeded"}
spec:
  backoffLimit: 0
  template:
    metadata: {annotations: {` + localcluster.ExitCodeAnnotation + `: "{{ .Values.migrateExit }}"}}
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: {{ .Values.image }}, resources: {requests: {cpu: 50m, memory: 32Mi}}}]
`)},
	"hooked/templates/announce.yaml": {Data: []byte(`apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-announce
  annotations: {helm.sh/hook: post-install}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: announce, image: {{ .Values.image }}, resources: {requests: {cpu: 50m, memory: 32Mi}}}]
`)},
	"widgets/Chart.yaml": {Data: []byte("apiVersion: v2\nname: widgets\nversion: 1.0.0\n")},
	"widgets/crds/widget.yaml": {Data: []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.berth.dev}
spec:
  group: test.berth.dev
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`)},
	"widgets/templates/widget.yaml": {Data: []byte("apiVersion: test.berth.dev/v1\nkind: Widget\nmetadata: {name: {{ .Release.Name }}}\nspec: {size: 3}\n")},
	"widgets/templates/deployment.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}}
spec:
  replicas: 1
  selector: {matchLabels: {widgets: {{ .Release.Name }}}}
  template:
    metadata: {labels: {widgets: {{ .Release.Name }}}}
    spec:
      containers: [{name: app, image: registry.example.com/bank/widgets:1.0.0, resources: {requests: {cpu: 50m, memory: 32Mi}}}]
`)},
}

func testInstall(name, chart, values string) appstore.Install {
	in := install(name, chart, values)
	in.Catalog = "test"
	return in
}

// created records, from watches started before it is called, the
// resourceVersion at which each named object of the namespace was created.
// On this cluster resourceVersions are etcd revisions: one sequence for
// every kind, so they order creations across kinds.
type created struct {
	mu sync.Mutex
	at map[string]uint64 // "Kind/name"
}

func (e *env) watchCreations(t *testing.T, kinds ...schema.GroupVersionResource) *created {
	t.Helper()
	dyn, err := dynamic.NewForConfig(e.c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := &created{at: map[string]uint64{}}
	for _, gvr := range kinds {
		w, err := dyn.Resource(gvr).Namespace(e.ns).Watch(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		go func() {
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if ev.Type != watch.Added || !ok {
					continue
				}
				rv, _ := strconv.ParseUint(u.GetResourceVersion(), 10, 64)
				c.mu.Lock()
				if _, seen := c.at[u.GetKind()+"/"+u.GetName()]; !seen {
					c.at[u.GetKind()+"/"+u.GetName()] = rv
				}
				c.mu.Unlock()
			}
		}()
	}
	return c
}

func (c *created) get(ref string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at[ref]
}

var (
	configMapsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	jobsGVR        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func hookStoreEnv(t *testing.T) *env {
	t.Helper()
	e := storeEnv(t)
	e.p.Store.Catalogs = append(e.p.Store.Catalogs, appstore.DirCatalog{Catalog: "test", FS: testCharts})
	return e
}

// An install runs its pre-install hooks in weight order before the
// chart's objects are applied, and its post-install hooks after; a hook
// whose policy says so is deleted once it succeeded, the others stay
// until the uninstall.
func TestAppStoreRunsHooksInWeightOrderAroundTheApply(t *testing.T) {
	t.Parallel()
	e := hookStoreEnv(t)
	seen := e.watchCreations(t, configMapsGVR, jobsGVR, deploymentsGVR)
	if _, err := e.p.InstallChart(t.Context(), admin, testInstall("hk", "hooked", "")); err != nil {
		t.Fatal(err)
	}
	e.applied(t, e.appKey("hk"))
	e.appRuns(t, "hk", "r1") // the hooks' pods are not counted as the app's

	order := []string{"ConfigMap/hk-pre-config", "Job/hk-migrate", "Deployment/hk", "Job/hk-announce"}
	e.await(t, "every creation watched", func(context.Context) (bool, error) {
		for _, ref := range order {
			if seen.get(ref) == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	for i := 1; i < len(order); i++ {
		if seen.get(order[i-1]) >= seen.get(order[i]) {
			t.Errorf("%s created at %d, not before %s at %d", order[i-1], seen.get(order[i-1]), order[i], seen.get(order[i]))
		}
	}
	if _, err := e.c.Client.BatchV1().Jobs(e.ns).Get(t.Context(), "hk-migrate", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("hk-migrate (hook-succeeded) after it succeeded: %v, want it deleted", err)
	}
	announce, err := e.c.Client.BatchV1().Jobs(e.ns).Get(t.Context(), "hk-announce", metav1.GetOptions{})
	if err != nil || announce.Status.Succeeded != 1 || announce.Labels[kube.LabelHookOf] != "hk" || announce.Labels[kube.LabelApp] != "" {
		t.Fatalf("hk-announce: %+v %v; want it kept, succeeded, labelled as a hook of hk", announce, err)
	}
	if cm, err := e.c.Client.CoreV1().ConfigMaps(e.ns).Get(t.Context(), "hk-pre-config", metav1.GetOptions{}); err != nil || cm.Data["revision"] != "1" {
		t.Fatalf("hk-pre-config: %v %v", cm, err)
	}

	t.Run("a restart runs no hook", func(t *testing.T) {
		err := e.p.Do(t.Context(), alice, audit.Event{Action: "test"}, func(tx platform.Tx) error {
			_, err := e.p.RestartDeployment(t.Context(), tx, admin, e.appKey("hk"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		e.applied(t, e.appKey("hk"))
		a, err := e.c.Client.BatchV1().Jobs(e.ns).Get(t.Context(), "hk-announce", metav1.GetOptions{})
		if err != nil || a.UID != announce.UID {
			t.Fatalf("hk-announce after a restart: %v %v, want the same Job, not one created again", a, err)
		}
		if _, err := e.c.Client.BatchV1().Jobs(e.ns).Get(t.Context(), "hk-migrate", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("hk-migrate after a restart: %v, want it not run again", err)
		}
	})
	t.Run("uninstall deletes the hooks left", func(t *testing.T) {
		if err := e.p.UninstallChart(t.Context(), admin, e.appKey("hk"), platform.UninstallOptions{}); err != nil {
			t.Fatal(err)
		}
		e.await(t, "the hook objects deleted", func(ctx context.Context) (bool, error) {
			_, err1 := e.c.Client.BatchV1().Jobs(e.ns).Get(ctx, "hk-announce", metav1.GetOptions{})
			_, err2 := e.c.Client.CoreV1().ConfigMaps(e.ns).Get(ctx, "hk-pre-config", metav1.GetOptions{})
			return apierrors.IsNotFound(err1) && apierrors.IsNotFound(err2), nil
		})
	})
}

// An upgrade whose pre-upgrade hook fails, released by a release order,
// fails its item with the hook's name and exit code as evidence; the
// order rolls back and the chart's objects of the upgrade were never
// applied.
func TestAppStoreFailingHookFailsTheItemAndRollsBack(t *testing.T) {
	t.Parallel()
	e := hookStoreEnv(t)
	if _, err := e.p.InstallChart(t.Context(), admin, testInstall("hk", "hooked", "")); err != nil {
		t.Fatal(err)
	}
	e.appRuns(t, "hk", "r1")
	up := testInstall("hk", "hooked", "migrateExit: \"3\"\nimage: registry.example.com/bank/hooked:2.0.0\n")
	if _, err := e.p.UpgradeChart(t.Context(), admin, up, platform.InstallOptions{VersionOnly: true}); err != nil {
		t.Fatal(err)
	}
	o := e.startOrder(t, []release.Item{{Application: "hk", Version: "r2"}}, time.Minute)
	o = e.orderEnds(t, o.Key())
	if o.State != release.RolledBack || o.Failure == nil || o.Failure.Reason != deploy.ReasonHookFailed ||
		!strings.Contains(o.Failure.Message, "hook Job hk-migrate (pre-upgrade, weight 0") || !strings.Contains(o.Failure.Message, "container migrate exited 3") {
		t.Fatalf("order %s, failure %+v; want RolledBack by HookFailed naming hk-migrate and its exit code", o.State, o.Failure)
	}
	e.appRuns(t, "hk", "r1")
	d, err := e.c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), "hk", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "registry.example.com/bank/hooked:1.0.0" {
		t.Fatalf("Deployment hk after the failed hook: %v %v; want r1's image", d, err)
	}
	if got := e.deploymentOf(t, "hk"); got.Version != "r1" || got.Applied.Error != "" {
		t.Errorf("deployment after the rollback: version %s, error %q", got.Version, got.Applied.Error)
	}
}

// A chart's CustomResourceDefinitions are refused for project users and
// unless allowed; allowed by a platform admin they are applied and
// established before the objects of their kinds; uninstall keeps them
// unless asked to delete them.
func TestAppStoreCRDsAppliedFirstAndKeptOnUninstall(t *testing.T) {
	t.Parallel()
	e := hookStoreEnv(t)
	in := testInstall("wd", "widgets", "")
	var ve *resource.ValidationError
	if _, err := e.p.InstallChart(t.Context(), admin, in); !errors.As(err, &ve) || !strings.Contains(ve.Fields[0].Reason, "widgets.test.berth.dev") {
		t.Fatalf("install without allowCRDs: %v", err)
	}
	in.AllowCRDs = true
	dev := platform.Caller{Actor: alice, Bindings: []authz.Binding{{Role: authz.ProjectAdmin, Scope: authz.Scope{Tenant: "bank", Project: "channels"}}}}
	if _, err := e.p.InstallChart(t.Context(), dev, in); !errors.Is(err, resource.ErrForbidden) {
		t.Fatalf("allowCRDs by a project admin: %v, want forbidden", err)
	}
	if _, err := e.p.InstallChart(t.Context(), admin, in); err != nil {
		t.Fatal(err)
	}
	e.applied(t, e.appKey("wd"))
	widgets := schema.GroupVersionResource{Group: "test.berth.dev", Version: "v1", Resource: "widgets"}
	dyn, err := dynamic.NewForConfig(e.c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	w, err := dyn.Resource(widgets).Namespace(e.ns).Get(t.Context(), "wd", metav1.GetOptions{})
	if err != nil || w.GetLabels()[kube.LabelApp] != "wd" {
		t.Fatalf("widget wd: %v %v", w, err)
	}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	if err := e.p.UninstallChart(t.Context(), dev, e.appKey("wd"), platform.UninstallOptions{DeleteCRDs: true}); !errors.Is(err, resource.ErrForbidden) {
		t.Fatalf("deleteCRDs by a project admin: %v, want forbidden", err)
	}
	if err := e.p.UninstallChart(t.Context(), admin, e.appKey("wd"), platform.UninstallOptions{}); err != nil {
		t.Fatal(err)
	}
	e.await(t, "the widget deleted", func(ctx context.Context) (bool, error) {
		_, err := dyn.Resource(widgets).Namespace(e.ns).Get(ctx, "wd", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if _, err := dyn.Resource(crds).Get(t.Context(), "widgets.test.berth.dev", metav1.GetOptions{}); err != nil {
		t.Fatalf("the CRD after an uninstall without deleteCRDs: %v, want it kept", err)
	}

	t.Run("deleteCRDs deletes them", func(t *testing.T) {
		in.Name = "wd2"
		if _, err := e.p.InstallChart(t.Context(), admin, in); err != nil {
			t.Fatal(err)
		}
		e.applied(t, e.appKey("wd2"))
		if err := e.p.UninstallChart(t.Context(), admin, e.appKey("wd2"), platform.UninstallOptions{DeleteCRDs: true}); err != nil {
			t.Fatal(err)
		}
		e.await(t, "the CRD deleted", func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(crds).Get(ctx, "widgets.test.berth.dev", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
}
