package kube_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/resource"
)

func hookJob(name, events, weight, policy string) string {
	return `apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
  annotations: {helm.sh/hook: "` + events + `", helm.sh/hook-weight: "` + weight + `", helm.sh/hook-delete-policy: "` + policy + `"}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: x, resources: {requests: {cpu: 100m, memory: 10Mi}}}]
`
}

// Hooks are kept apart from the objects, in the order they run — by
// weight, then name — with their events and delete policies; their
// workloads count in the footprint; a test hook is dropped.
func TestRenderKeepsHooksInWeightOrder(t *testing.T) {
	r, err := render(t, testChart(map[string]string{"pod.yaml": okPod,
		"a.yaml":    hookJob("zz-first", "pre-install,pre-upgrade", "-5", "hook-succeeded"),
		"b.yaml":    hookJob("migrate", "pre-upgrade", "0", ""),
		"c.yaml":    hookJob("announce", "post-install", "0", "hook-failed,before-hook-creation"),
		"d.yaml":    hookJob("aa-second", "pre-install", "0", ""),
		"test.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test}\nspec: {containers: [{name: c, image: x}]}\n",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	type hook struct {
		Name     string
		Events   []string
		Weight   int
		Policies []string
	}
	var got []hook
	for _, h := range r.Hooks {
		got = append(got, hook{h.Name, h.Events, h.Weight, h.DeletePolicies})
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := json.Unmarshal(h.Object, &obj); err != nil || obj.Kind != "Job" || obj.Metadata.Name != h.Name {
			t.Errorf("hook %s object %s (%v)", h.Name, h.Object, err)
		}
	}
	want := []hook{
		{"zz-first", []string{"pre-install", "pre-upgrade"}, -5, []string{"hook-succeeded"}},
		{"aa-second", []string{"pre-install"}, 0, nil},
		{"announce", []string{"post-install"}, 0, []string{"hook-failed", "before-hook-creation"}},
		{"migrate", []string{"pre-upgrade"}, 0, nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
	if len(r.Objects) != 1 {
		t.Errorf("%d objects, want the pod alone", len(r.Objects))
	}
	// The pod (10m) and four hook Jobs (100m each), counted as if they ran together.
	if r.Footprint[resource.CPU] != resource.MilliUnits(410) || r.Footprint[resource.Containers] != resource.Units(5) {
		t.Errorf("footprint %v, want cpu 410m and 5 containers", r.Footprint)
	}
}

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`

func crdChart(crd string) appstore.Chart {
	ch := testChart(map[string]string{"pod.yaml": okPod,
		"widget.yaml": "{{ if .Capabilities.APIVersions.Has \"example.com/v1/Widget\" }}apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n{{ end }}\n"})
	ch.Files = append(ch.Files, appstore.File{Name: "crds/widget.yaml", Data: []byte(crd)})
	return ch
}

// A chart's crds/ are refused unless allowed; allowed, they are kept
// apart, and the kinds they define may be used by the templates (and are
// in .Capabilities.APIVersions).
func TestRenderCRDs(t *testing.T) {
	_, err := render(t, crdChart(widgetCRD), nil)
	if f := refusal(t, err); f.Path != "chart" || !strings.Contains(f.Reason, "CustomResourceDefinitions (widgets.example.com)") ||
		!strings.Contains(f.Reason, "allowCRDs") {
		t.Fatalf("refusal %+v, want chart naming the CRD and allowCRDs", f)
	}
	r, err := renderWith(t, crdChart(widgetCRD), appstore.RenderRequest{AllowCRDs: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.CRDs) != 1 || !strings.Contains(string(r.CRDs[0]), "widgets.example.com") {
		t.Errorf("CRDs %s, want widgets.example.com", r.CRDs)
	}
	var kinds []string
	for _, o := range r.Objects {
		var obj struct{ Kind string }
		_ = json.Unmarshal(o, &obj)
		kinds = append(kinds, obj.Kind)
	}
	if strings.Join(kinds, ",") != "Pod,Widget" && strings.Join(kinds, ",") != "Widget,Pod" {
		t.Errorf("objects of kinds %v, want the pod and the widget", kinds)
	}
	cluster := strings.Replace(widgetCRD, "scope: Namespaced", "scope: Cluster", 1)
	_, err = renderWith(t, crdChart(cluster), appstore.RenderRequest{AllowCRDs: true})
	if f := refusal(t, err); !strings.Contains(f.Reason, "widgets.example.com defines cluster-scoped objects") {
		t.Errorf("refusal %+v, want the cluster-scoped CRD named", f)
	}
}
