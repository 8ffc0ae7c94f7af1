package kube_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"berth.dev/berth/catalog"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/resource"
)

// chartCaps is a cluster as discovery would describe it: Kubernetes 1.32
// serving the kinds the test charts use.
var chartCaps = kube.Capabilities{KubeVersion: "v1.32.4", APIVersions: []string{"apps/v1", "v1", "batch/v1"}}

func chartMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []schema.GroupVersionKind{{Version: "v1", Kind: "Service"}, {Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Secret"}, {Version: "v1", Kind: "PersistentVolumeClaim"}, {Version: "v1", Kind: "Pod"},
		{Group: "apps", Version: "v1", Kind: "Deployment"}, {Group: "apps", Version: "v1", Kind: "StatefulSet"},
		{Group: "apps", Version: "v1", Kind: "DaemonSet"}, {Group: "batch", Version: "v1", Kind: "Job"}} {
		m.Add(k, meta.RESTScopeNamespace)
	}
	m.Add(schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot)
	m.Add(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, meta.RESTScopeRoot)
	return m
}

func starter(t *testing.T, name string) appstore.Chart {
	t.Helper()
	cat := appstore.DirCatalog{Catalog: catalog.Name, FS: catalog.Charts}
	ch, err := cat.Get(context.Background(), name, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func render(t *testing.T, ch appstore.Chart, values map[string]any) (appstore.Rendered, error) {
	t.Helper()
	return kube.RenderChartFor(t.Context(), chartCaps, chartMapper(), appstore.RenderRequest{Chart: ch, Release: "shop",
		Namespace: "bank-channels-test", Values: values})
}

// renderWith renders ch with req's options, as render does.
func renderWith(t *testing.T, ch appstore.Chart, req appstore.RenderRequest) (appstore.Rendered, error) {
	t.Helper()
	req.Chart, req.Release, req.Namespace = ch, "shop", "bank-channels-test"
	return kube.RenderChartFor(t.Context(), chartCaps, chartMapper(), req)
}

// The starter charts render for a project, and reserve what their values
// say: requests times replicas, one container per replica.
func TestRenderStarterCharts(t *testing.T) {
	mi := func(n int64) resource.Quantity { return resource.Units(n << 20) }
	for _, tc := range []struct {
		chart string
		kinds []string
		want  resource.List
	}{
		{"java-service", []string{"Service", "Deployment"},
			resource.List{resource.CPU: resource.MilliUnits(1000), resource.Memory: mi(1536), resource.Containers: resource.Units(2)}},
		{"static-site", []string{"ConfigMap", "Service", "Deployment"},
			resource.List{resource.CPU: resource.MilliUnits(200), resource.Memory: mi(128), resource.Containers: resource.Units(2)}},
		{"redis", []string{"ConfigMap", "Service", "Deployment"},
			resource.List{resource.CPU: resource.MilliUnits(100), resource.Memory: mi(256), resource.Containers: resource.Units(1)}},
		{"postgresql", []string{"Service", "Deployment"},
			resource.List{resource.CPU: resource.MilliUnits(250), resource.Memory: mi(512), resource.Containers: resource.Units(1)}},
	} {
		t.Run(tc.chart, func(t *testing.T) {
			r, err := render(t, starter(t, tc.chart), nil)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, raw := range r.Objects {
				var o struct {
					Kind     string `json:"kind"`
					Metadata struct{ Name, Namespace string }
				}
				if err := json.Unmarshal(raw, &o); err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, o.Kind)
				if !strings.HasPrefix(o.Metadata.Name, "shop") {
					t.Errorf("%s %s is not named after the release", o.Kind, o.Metadata.Name)
				}
			}
			if strings.Join(kinds, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds %v, want %v (Helm's install order)", kinds, tc.kinds)
			}
			if !equalLists(r.Footprint, tc.want) {
				t.Errorf("footprint %v, want %v", r.Footprint, tc.want)
			}
			if r.Name != tc.chart || r.Version != "1.0.0" || !strings.HasPrefix(r.Digest, "sha256:") || r.Notes == "" {
				t.Errorf("rendered %s %s digest %q notes %q", r.Name, r.Version, r.Digest, r.Notes)
			}
		})
	}
	// With persistence the claim's storage counts too.
	r, err := render(t, starter(t, "redis"), map[string]any{"persistence": map[string]any{"enabled": true, "size": "2Gi"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Footprint[resource.Storage], resource.Units(2<<30); got != want {
		t.Errorf("storage %v, want %v", got, want)
	}
}

func equalLists(a, b resource.List) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// refusal returns the one field error of err.
func refusal(t *testing.T, err error) resource.FieldError {
	t.Helper()
	var ve *resource.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 1 {
		t.Fatalf("error %v, want one field error", err)
	}
	return ve.Fields[0]
}

func TestRenderRefusesValuesAgainstTheSchema(t *testing.T) {
	_, err := render(t, starter(t, "redis"), map[string]any{"replicas": "two", "maxmemoryPolicy": "keep-all"})
	f := refusal(t, err)
	if f.Path != "values" || !strings.Contains(f.Reason, "/replicas") || !strings.Contains(f.Reason, "/maxmemoryPolicy") {
		t.Fatalf("refusal %+v, want values naming /replicas and /maxmemoryPolicy", f)
	}
}

// testChart is a chart named "probe" with the given templates.
func testChart(templates map[string]string) appstore.Chart {
	ch := appstore.Chart{Files: []appstore.File{{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: probe\nversion: 0.1.0\n")}}}
	for name, body := range templates {
		ch.Files = append(ch.Files, appstore.File{Name: "templates/" + name, Data: []byte(body)})
	}
	return ch
}

const okPod = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: x, resources: {requests: {cpu: 10m, memory: 1Mi}}}]
`

func TestRenderRefusals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		templates map[string]string
		want      []string // in the reason
	}{
		{"bad template", map[string]string{"pod.yaml": okPod, "broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.name }}\n"},
			[]string{"probe/templates/broken.yaml:4:"}},
		{"cluster-scoped", map[string]string{"role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n"},
			[]string{"ClusterRole r is cluster-scoped"}},
		{"other namespace", map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: kube-system}\n"},
			[]string{"ConfigMap c is in namespace kube-system"}},
		{"delete hook", map[string]string{"pod.yaml": okPod, "job.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: cleanup\n  annotations: {helm.sh/hook: pre-delete}\nspec: {template: {spec: {containers: [{name: c, image: x}]}}}\n"},
			[]string{"probe/templates/job.yaml: Job cleanup is a pre-delete hook"}},
		{"hook without requests", map[string]string{"pod.yaml": okPod, "job.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install}\nspec: {template: {spec: {containers: [{name: c, image: x}]}}}\n"},
			[]string{"Job migrate: container c requests no cpu"}},
		{"unknown delete policy", map[string]string{"pod.yaml": okPod, "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations: {helm.sh/hook: pre-install, helm.sh/hook-delete-policy: sometimes}\n"},
			[]string{`unknown helm.sh/hook-delete-policy "sometimes"`}},
		{"a CRD among the templates", map[string]string{"crd.yaml": widgetCRD},
			[]string{"CustomResourceDefinition widgets.example.com: a chart's CustomResourceDefinitions belong in its crds/ folder"}},
		{"no requests", map[string]string{"pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n"},
			[]string{"Pod p: container c requests no cpu"}},
		{"secret", map[string]string{"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n"},
			[]string{"Secret s: a chart may not carry a Secret"}},
		{"daemon set", map[string]string{"ds.yaml": "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: c, image: x}]}}}\n"},
			[]string{"DaemonSet d: a DaemonSet runs on every node"}},
		{"unserved kind", map[string]string{"x.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"},
			[]string{"Widget w: the cluster does not serve example.com/v1, Kind=Widget"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := render(t, testChart(tc.templates), nil)
			if err == nil {
				t.Fatalf("rendered %d objects, want a refusal", len(r.Objects))
			}
			f := refusal(t, err)
			for _, w := range tc.want {
				if f.Path != "chart" || !strings.Contains(f.Reason, w) {
					t.Errorf("refusal %+v, want chart: …%s…", f, w)
				}
			}
		})
	}
	// A test hook is not run and not installed.
	r, err := render(t, testChart(map[string]string{"pod.yaml": okPod,
		"test.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test}\nspec: {containers: [{name: c, image: x}]}\n"}), nil)
	if err != nil || len(r.Objects) != 1 {
		t.Fatalf("with a test hook: %d objects, %v; want the pod alone", len(r.Objects), err)
	}
}

// lookup finds nothing when rendering client-side: charts see an empty map.
func TestRenderLookupIsEmpty(t *testing.T) {
	r, err := render(t, testChart(map[string]string{"cm.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data:
  found: {{ len (lookup "v1" "Secret" .Release.Namespace "anything") | quote }}
`}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Objects[0]), `"found":"0"`) {
		t.Fatalf("object %s, want lookup to find nothing", r.Objects[0])
	}
}

// An autoscaler's maxReplicas is what its target may run: the footprint
// counts it.
func TestRenderCountsAutoscaledReplicas(t *testing.T) {
	r, err := render(t, testChart(map[string]string{"deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: x, resources: {requests: {cpu: 100m, memory: 10Mi}}}]}
`, "hpa.yaml": `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: api}
spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}, minReplicas: 2, maxReplicas: 6}
`}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Footprint[resource.CPU], resource.MilliUnits(600); got != want {
		t.Errorf("cpu %v, want %v (6 replicas × 100m)", got, want)
	}
}

// A values schema that refers outside itself is refused before Helm's
// compiler would fetch it: a chart must not make the server reach an
// address of its choosing or read the server's files. The loopback server
// counts the requests it gets: none.
func TestRenderRefusesSchemaReferencesOutsideTheChart(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, `{"type": "object"}`)
	}))
	defer srv.Close()
	withSchema := func(schema string) appstore.Chart {
		ch := testChart(map[string]string{"pod.yaml": okPod})
		ch.Files = append(ch.Files, appstore.File{Name: "values.schema.json", Data: []byte(schema)})
		return ch
	}
	for _, tc := range []struct{ name, schema, want string }{
		{"http", `{"type": "object", "properties": {"x": {"$ref": "` + srv.URL + `/s.json"}}}`,
			`at #/properties/x/$ref refers outside the schema ("` + srv.URL + `/s.json")`},
		{"file", `{"allOf": [{"$ref": "file:///etc/passwd"}]}`, `at #/allOf/0/$ref refers outside the schema ("file:///etc/passwd")`},
		{"relative", `{"$id": "` + srv.URL + `/", "$ref": "other.json"}`, `at #/$ref refers outside the schema ("other.json")`},
		{"meta-schema", `{"$schema": "` + srv.URL + `/meta.json", "type": "object"}`, `at #/$schema names "` + srv.URL + `/meta.json"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, withSchema(tc.schema), nil)
			if err == nil {
				t.Fatal("rendered, want a refusal")
			}
			if f := refusal(t, err); f.Path != "chart" || !strings.Contains(f.Reason, tc.want) {
				t.Errorf("refusal %+v, want chart: …%s…", f, tc.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the schema's server was asked %d times, want never", n)
	}
	// References within the schema, and a draft's meta-schema, still work.
	local := `{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"n": {"type": "integer"}},
		"properties": {"replicas": {"$ref": "#/$defs/n"}}}`
	if _, err := render(t, withSchema(local), map[string]any{"replicas": 2}); err != nil {
		t.Fatalf("a schema with a reference within itself: %v", err)
	}
	_, err := render(t, withSchema(local), map[string]any{"replicas": "two"})
	if err == nil || refusal(t, err).Path != "values" {
		t.Fatalf("a value against the referenced definition: %v, want a refusal at values", err)
	}
}
