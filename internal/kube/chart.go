package kube

// Rendering Helm charts for the app store (package appstore, ADR 0019):
// client-side, with the Helm SDK, against the target cluster's version and
// API versions; then every object is checked against what Berth installs
// for a project.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"

	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/resource"
)

// ChartRenderer renders charts with the Helm SDK; it implements
// appstore.Renderer. It connects with the kubeconfig it is given, for the
// cluster's version, API versions and which kinds are namespaced.
type ChartRenderer struct{}

var _ appstore.Renderer = ChartRenderer{}

// RenderChart implements appstore.Renderer.
func (ChartRenderer) RenderChart(ctx context.Context, cluster string, kubeconfig []byte, req appstore.RenderRequest) (appstore.Rendered, error) {
	cfg, err := RESTConfigFromKubeconfig(kubeconfig)
	if err != nil {
		return appstore.Rendered{}, err
	}
	cfg.Timeout = probeTimeout * 5
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return appstore.Rendered{}, err
	}
	caps, mapper, err := capabilities(dc)
	if err != nil {
		return appstore.Rendered{}, fmt.Errorf("%w: %w: %s: %v", appstore.ErrClusterUnreachable, ErrUnreachable, cluster, err)
	}
	return RenderChartFor(ctx, caps, mapper, req)
}

// Capabilities are what a chart is rendered against: the cluster's
// version and API versions, and its kinds' scopes.
type Capabilities struct {
	KubeVersion string
	APIVersions []string
}

func capabilities(dc *discovery.DiscoveryClient) (Capabilities, meta.RESTMapper, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return Capabilities{}, nil, err
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		return Capabilities{}, nil, err
	}
	// What Helm's .Capabilities.APIVersions holds: every group/version,
	// and every group/version/Kind.
	seen := map[string]bool{}
	var set []string
	for _, g := range groups {
		for gv, rs := range g.VersionedResources {
			if g.Group.Name != "" {
				gv = g.Group.Name + "/" + gv
			}
			for _, id := range append([]string{gv}, kindsOf(gv, rs)...) {
				if !seen[id] {
					seen[id] = true
					set = append(set, id)
				}
			}
		}
	}
	sort.Strings(set)
	return Capabilities{KubeVersion: v.GitVersion, APIVersions: set}, restmapper.NewDiscoveryRESTMapper(groups), nil
}

func kindsOf(gv string, rs []metav1.APIResource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, gv+"/"+r.Kind)
	}
	return out
}

const notesFile = "NOTES.txt"

// RenderChartFor renders req against caps, checking each object's scope
// with mapper. It renders as `helm template` does, client-side: the
// template function lookup finds nothing.
func RenderChartFor(_ context.Context, caps Capabilities, mapper meta.RESTMapper, req appstore.RenderRequest) (appstore.Rendered, error) {
	ch, err := loadChart(req.Chart)
	if err != nil {
		return appstore.Rendered{}, chartError("chart", "not a chart: %v", err)
	}
	kv, err := common.ParseKubeVersion(caps.KubeVersion)
	if err != nil {
		return appstore.Rendered{}, fmt.Errorf("cluster version %q: %w", caps.KubeVersion, err)
	}
	hc := common.DefaultCapabilities.Copy()
	hc.KubeVersion = *kv
	hc.APIVersions = append(hc.APIVersions, caps.APIVersions...)
	if err := chartutil.ProcessDependencies(ch, req.Values); err != nil {
		return appstore.Rendered{}, chartError("chart", "dependencies: %v", err)
	}
	if err := checkKubeVersion(ch, kv); err != nil {
		return appstore.Rendered{}, err
	}
	if err := checkSchemaRefs(ch); err != nil {
		return appstore.Rendered{}, err
	}
	crds, err := chartCRDs(ch, req.AllowCRDs)
	if err != nil {
		return appstore.Rendered{}, err
	}
	hc.APIVersions = append(hc.APIVersions, crdVersions(crds)...)
	revision := max(req.Revision, 1)
	opts := common.ReleaseOptions{Name: req.Release, Namespace: req.Namespace, Revision: revision, IsInstall: !req.Upgrade, IsUpgrade: req.Upgrade}
	values, err := util.ToRenderValuesWithSchemaValidation(ch, req.Values, opts, hc, false)
	if err != nil {
		return appstore.Rendered{}, renderError(err)
	}
	files, err := engine.Render(ch, values)
	if err != nil {
		return appstore.Rendered{}, renderError(err)
	}
	out := appstore.Rendered{Name: ch.Metadata.Name, Version: ch.Metadata.Version, AppVersion: ch.Metadata.AppVersion}
	for k, v := range files {
		if strings.HasSuffix(k, notesFile) {
			if k == path.Join(ch.Name(), "templates", notesFile) {
				out.Notes = strings.TrimSpace(v)
			}
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return appstore.Rendered{}, chartError("chart", "%v", err)
	}
	var objs []*unstructured.Unstructured
	for _, m := range manifests {
		more, err := decodeManifest(m.Name, m.Content)
		if err != nil {
			return appstore.Rendered{}, err
		}
		objs = append(objs, more...)
	}
	mapper = withCRDs(mapper, crds)
	hookObjs, err := chartHooks(hooks)
	if err != nil {
		return appstore.Rendered{}, err
	}
	if out.Footprint, err = checkChartObjects(append(slices.Clone(objs), hookObjects(hookObjs)...), mapper, req.Namespace); err != nil {
		return appstore.Rendered{}, err
	}
	sum := sha256.New()
	if out.Objects, err = marshalAll(sum, objs); err != nil {
		return appstore.Rendered{}, err
	}
	if out.CRDs, err = marshalAll(sum, crds); err != nil {
		return appstore.Rendered{}, err
	}
	for _, h := range hookObjs {
		data, err := marshalAll(sum, []*unstructured.Unstructured{h.obj})
		if err != nil {
			return appstore.Rendered{}, err
		}
		h.hook.Object = data[0]
		out.Hooks = append(out.Hooks, h.hook)
	}
	out.Digest = "sha256:" + hex.EncodeToString(sum.Sum(nil))
	return out, nil
}

func checkKubeVersion(ch *chartv2.Chart, kv *common.KubeVersion) error {
	if ch.Metadata.KubeVersion == "" {
		return nil
	}
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, kv.String()) {
		return chartError("chart", "the chart needs Kubernetes %s; the cluster runs %s", ch.Metadata.KubeVersion, kv.String())
	}
	return nil
}

func loadChart(c appstore.Chart) (*chartv2.Chart, error) {
	if c.Archive != nil {
		if len(c.Archive) > appstore.MaxArchiveBytes {
			return nil, fmt.Errorf("the archive is over %d bytes", appstore.MaxArchiveBytes)
		}
		return loader.LoadArchive(bytes.NewReader(c.Archive))
	}
	files := make([]*archive.BufferedFile, 0, len(c.Files))
	for _, f := range c.Files {
		files = append(files, &archive.BufferedFile{Name: f.Name, Data: f.Data})
	}
	return loader.LoadFiles(files)
}

// checkSchemaRefs refuses a values schema, the chart's or a dependency's,
// that refers outside itself: Helm's schema compiler loads "$ref" and
// "$schema" URLs over HTTP(S) and from files, which would let a chart make
// the server fetch any address its network reaches, or read its files.
// References within the document ("#/...") and the JSON Schema drafts the
// compiler knows are kept.
func checkSchemaRefs(ch *chartv2.Chart) error {
	if len(ch.Schema) > 0 {
		var doc any
		if err := json.Unmarshal(ch.Schema, &doc); err != nil {
			return chartError("chart", "%s: values.schema.json is not JSON: %v", ch.ChartFullPath(), err)
		}
		if err := outsideRef(doc, "#"); err != nil {
			return chartError("chart", "%s: values.schema.json %v", ch.ChartFullPath(), err)
		}
	}
	for _, dep := range ch.Dependencies() {
		if err := checkSchemaRefs(dep); err != nil {
			return err
		}
	}
	return nil
}

// outsideRef finds the first reference in schema node v, at pointer at,
// that leaves the document.
func outsideRef(v any, at string) error {
	switch n := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(n)) {
			s, isString := n[k].(string)
			switch {
			case !isString:
			case (k == "$ref" || k == "$dynamicRef") && !strings.HasPrefix(s, "#"):
				return fmt.Errorf("at %s/%s refers outside the schema (%q): only references within it (#/...) are allowed", at, k, s)
			case k == "$schema" && !strings.HasPrefix(s, "http://json-schema.org/") && !strings.HasPrefix(s, "https://json-schema.org/"):
				return fmt.Errorf("at %s/$schema names %q: only the JSON Schema drafts are allowed", at, s)
			}
			if err := outsideRef(n[k], at+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range n {
			if err := outsideRef(e, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// renderError says why Helm refused: values against the schema (at
// "values"), or a template (at "chart"; Helm's message names the
// template, line and column).
func renderError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "values don't meet the specifications of the schema") {
		return chartError("values", "%s", strings.TrimSpace(msg))
	}
	return chartError("chart", "%s", strings.TrimSpace(msg))
}

func chartError(path, format string, args ...any) error {
	return &resource.ValidationError{Fields: []resource.FieldError{{Path: path, Reason: fmt.Sprintf(format, args...)}}}
}

// decodeManifest decodes the objects template rendered.
func decodeManifest(template, manifest string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var obj map[string]any
		err := d.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, chartError("chart", "%s: not a Kubernetes object: %v", template, err)
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			return nil, chartError("chart", "%s: an object without apiVersion, kind or name", template)
		}
		out = append(out, u)
	}
}

// autoscaled returns the most replicas the objs' HorizontalPodAutoscalers
// may scale each target to, by "Kind/name".
func autoscaled(objs []*unstructured.Unstructured) map[string]int64 {
	out := map[string]int64{}
	for _, o := range objs {
		if groupKind(o) != "autoscaling/HorizontalPodAutoscaler" {
			continue
		}
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
		if n, ok := intField(o.Object, "spec", "maxReplicas"); ok && n > out[kind+"/"+name] {
			out[kind+"/"+name] = n
		}
	}
	return out
}

// checkChartObjects refuses what a project may not hold — cluster-scoped
// objects (CustomResourceDefinitions outside crds/ too), objects in another
// namespace, kinds the cluster does not serve, Secrets — and returns what
// the workloads request.
func checkChartObjects(objs []*unstructured.Unstructured, mapper meta.RESTMapper, namespace string) (resource.List, error) {
	seen := map[string]bool{}
	footprint := resource.List{}
	scaled := autoscaled(objs)
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		what := fmt.Sprintf("%s %s", gvk.Kind, o.GetName())
		if seen[gvk.GroupKind().String()+"/"+o.GetName()] {
			return nil, chartError("chart", "%s is rendered twice", what)
		}
		seen[gvk.GroupKind().String()+"/"+o.GetName()] = true
		m, err := mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
		if err != nil {
			return nil, chartError("chart", "%s: the cluster does not serve %s", what, gvk.GroupVersion().WithKind(gvk.Kind))
		}
		if gvk.GroupKind() == crdKind {
			return nil, chartError("chart", "%s: a chart's CustomResourceDefinitions belong in its crds/ folder, not its templates", what)
		}
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			return nil, chartError("chart", "%s is cluster-scoped: an install holds only objects of its environment's namespace %s", what, namespace)
		}
		if groupKind(o) == "/Secret" {
			// The version keeps its objects, readable with version:read.
			return nil, chartError("chart", "%s: a chart may not carry a Secret (Berth keeps a version's objects, readable by whoever reads versions); "+
				"create the Secret in the namespace and give the chart its name", what)
		}
		if ns := o.GetNamespace(); ns != "" && ns != namespace {
			return nil, chartError("chart", "%s is in namespace %s: an install holds only objects of its environment's namespace %s", what, ns, namespace)
		}
		need, err := workloadFootprint(o, scaled[o.GetKind()+"/"+o.GetName()])
		if err != nil {
			return nil, chartError("chart", "%s: %v", what, err)
		}
		footprint = footprint.Add(need)
	}
	return footprint, nil
}
