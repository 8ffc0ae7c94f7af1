package kube_test

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/kube"
)

// TestRenderLabelsNacosConnectionsWithAppAndVersion: every container says
// which application and version it runs through nacos_app_conn_labels (so
// configuration can be grayed to a version's pods), after any labels the
// operator set there; a value the operator takes from a ConfigMap is left
// alone.
func TestRenderLabelsNacosConnectionsWithAppAndVersion(t *testing.T) {
	connLabels := func(env []apps.EnvVar) (string, int) {
		t.Helper()
		w := kube.Workload{Tenant: "bank", Project: "channels", Environment: "test", Namespace: "ns", App: "red-auth",
			Version: apps.Version{Name: "v2", Image: "r/a:2", Orchestration: apps.Orchestration{Replicas: 1, Env: env}}}
		objs, err := kube.Render(w)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetKind() != "Deployment" {
				continue
			}
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			var value string
			n := 0
			for _, e := range cs[0].(map[string]any)["env"].([]any) {
				if e := e.(map[string]any); e["name"] == "nacos_app_conn_labels" {
					n++
					value, _ = e["value"].(string)
				}
			}
			return value, n
		}
		t.Fatal("no Deployment")
		return "", 0
	}
	if v, n := connLabels(nil); n != 1 || v != "berth.app=red-auth,berth.version=v2" {
		t.Errorf("without operator labels: %d variables, %q", n, v)
	}
	if v, n := connLabels([]apps.EnvVar{{Name: "nacos_app_conn_labels", Value: "berth.branch=B0101,"}}); n != 1 || v != "berth.branch=B0101,berth.app=red-auth,berth.version=v2" {
		t.Errorf("with the operator's labels: %d variables, %q", n, v)
	}
	if v, n := connLabels([]apps.EnvVar{{Name: "nacos_app_conn_labels", ConfigRef: "labels"}}); n != 1 || v != "" {
		t.Errorf("with labels from a ConfigMap: %d variables, value %q (want the reference only)", n, v)
	}
}

// TestRenderBesideMountsItsOwnFiles: the second Deployment a gray plan adds
// beside the main one reads its version's files from its own "-files"
// ConfigMap and Secret (its version may be in an item's gray cohort), never
// from the main Deployment's.
func TestRenderBesideMountsItsOwnFiles(t *testing.T) {
	w := kube.Workload{Tenant: "bank", Project: "channels", Environment: "test", Namespace: "ns", App: "red-auth",
		Version: apps.Version{Name: "v2", Image: "r/a:2", Orchestration: apps.Orchestration{Replicas: 1, ConfigRefs: []apps.ConfigRef{
			{DataID: "app.yaml", MountPath: "/etc/app"}, {DataID: "key.pem", MountPath: "/etc/tls"}}}},
		Files: []kube.File{{Group: "DEFAULT_GROUP", DataID: "app.yaml", Revision: 7, Content: "gray: true\n"},
			{Group: "DEFAULT_GROUP", DataID: "key.pem", Revision: 2, Content: "secret", Secret: true}}}
	objs, err := kube.RenderBeside(w, "red-auth-v2")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var sources []string
	for _, o := range objs {
		got[o.GetKind()] = o.GetName()
		if o.GetKind() != "Deployment" {
			continue
		}
		vols, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
		for _, v := range vols {
			srcs, _, _ := unstructured.NestedSlice(v.(map[string]any), "projected", "sources")
			for _, s := range srcs {
				for kind, ref := range s.(map[string]any) {
					sources = append(sources, kind+" "+ref.(map[string]any)["name"].(string))
				}
			}
		}
	}
	if got["ConfigMap"] != "red-auth-v2-files" || got["Secret"] != "red-auth-v2-files" {
		t.Errorf("objects %v, want the ConfigMap and Secret red-auth-v2-files", got)
	}
	if want := []string{"configMap red-auth-v2-files", "secret red-auth-v2-files"}; !slices.Equal(sources, want) {
		t.Errorf("volume sources %v, want %v", sources, want)
	}
	if _, err := kube.Render(kube.Workload{App: "red-auth", Version: w.Version}); err == nil || !strings.Contains(err.Error(), "config item DEFAULT_GROUP/app.yaml: not read") {
		t.Errorf("rendering without the items' content: %v, want an error naming the item", err)
	}
}
