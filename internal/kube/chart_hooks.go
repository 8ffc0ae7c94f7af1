package kube

// What a chart carries besides its objects: Helm hooks and the
// CustomResourceDefinitions of its crds/ folder (docs/app-store.md).

import (
	"encoding/json"
	"fmt"
	gohash "hash"
	"slices"
	"sort"
	"strings"

	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"berth.dev/berth/internal/apps"
)

// hookObj is a hook with its decoded object.
type hookObj struct {
	hook apps.Hook
	obj  *unstructured.Unstructured
}

// runnable are the hook events Berth runs.
var runnable = []string{apps.HookPreInstall, apps.HookPostInstall, apps.HookPreUpgrade, apps.HookPostUpgrade,
	apps.HookPreRollback, apps.HookPostRollback}

var deletePolicies = []string{apps.HookBeforeHookCreation, apps.HookSucceeded, apps.HookFailed}

// chartHooks decodes the hooks Helm sorted out of the rendered templates,
// in the order they run. Test hooks are dropped (Berth runs no chart
// tests); delete hooks are refused: uninstall does not run them.
func chartHooks(hooks []*release.Hook) ([]hookObj, error) {
	var out []hookObj
	for _, h := range hooks {
		var events []string
		for _, e := range h.Events {
			switch {
			case e == release.HookTest:
			case slices.Contains(runnable, string(e)):
				events = append(events, string(e))
			default:
				return nil, chartError("chart", "%s: %s %s is a %s hook: Berth runs install, upgrade and rollback hooks (%s), not %s",
					h.Path, h.Kind, h.Name, e, strings.Join(runnable, ", "), e)
			}
		}
		if len(events) == 0 {
			continue
		}
		objs, err := decodeManifest(h.Path, h.Manifest)
		if err != nil {
			return nil, err
		}
		if len(objs) != 1 {
			return nil, chartError("chart", "%s: hook %s %s renders %d objects, want one", h.Path, h.Kind, h.Name, len(objs))
		}
		hook := apps.Hook{Name: h.Name, Kind: h.Kind, Template: h.Path, Events: events, Weight: h.Weight}
		for _, p := range h.DeletePolicies {
			if p = release.HookDeletePolicy(strings.TrimSpace(string(p))); p == "" {
				continue
			}
			if !slices.Contains(deletePolicies, string(p)) {
				return nil, chartError("chart", "%s: hook %s %s: unknown helm.sh/hook-delete-policy %q (known: %s)", h.Path, h.Kind, h.Name,
					p, strings.Join(deletePolicies, ", "))
			}
			hook.DeletePolicies = append(hook.DeletePolicies, string(p))
		}
		out = append(out, hookObj{hook: hook, obj: objs[0]})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].hook, out[j].hook
		return a.Weight < b.Weight || a.Weight == b.Weight && a.Name < b.Name
	})
	return out, nil
}

func hookObjects(hooks []hookObj) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, h.obj)
	}
	return out
}

// marshalAll encodes objs, adding each (and a newline) to sum.
func marshalAll(sum gohash.Hash, objs []*unstructured.Unstructured) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		data, err := json.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		out = append(out, data)
		sum.Write(data)
		sum.Write([]byte{'\n'})
	}
	return out, nil
}

var crdKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// chartCRDs decodes the CustomResourceDefinitions of the chart's crds/
// folders (its dependencies' too). A chart that has some is refused unless
// allow: CRDs are cluster-wide, so only a platform admin installs them.
func chartCRDs(ch *chartv2.Chart, allow bool) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	var names []string
	for _, f := range ch.CRDObjects() {
		objs, err := decodeManifest(f.Filename, string(f.File.Data))
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if o.GroupVersionKind() != crdKind.WithVersion("v1") {
				return nil, chartError("chart", "%s: %s %s: crds/ holds only apiextensions.k8s.io/v1 CustomResourceDefinitions", f.Filename, o.GetKind(), o.GetName())
			}
			if scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope"); scope != "Namespaced" {
				return nil, chartError("chart", "%s: CustomResourceDefinition %s defines cluster-scoped objects: an install holds only objects of its environment's namespace",
					f.Filename, o.GetName())
			}
			names = append(names, o.GetName())
			out = append(out, o)
		}
	}
	if len(out) > 0 && !allow {
		return nil, chartError("chart", "the chart carries CustomResourceDefinitions (%s): they are cluster-wide, so only a platform admin may install them, by allowing them (allowCRDs)",
			strings.Join(names, ", "))
	}
	return out, nil
}

// crdKinds are the kinds crds define, by group and kind, with the
// resource serving them.
func crdKinds(crds []*unstructured.Unstructured) map[schema.GroupKind]crdKindOf {
	out := map[schema.GroupKind]crdKindOf{}
	for _, c := range crds {
		group, _, _ := unstructured.NestedString(c.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(c.Object, "spec", "names", "kind")
		plural, _, _ := unstructured.NestedString(c.Object, "spec", "names", "plural")
		k := crdKindOf{resource: plural}
		versions, _, _ := unstructured.NestedSlice(c.Object, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			if name, _ := m["name"].(string); name != "" && m["served"] == true {
				k.versions = append(k.versions, name)
			}
		}
		out[schema.GroupKind{Group: group, Kind: kind}] = k
	}
	return out
}

type crdKindOf struct {
	resource string
	versions []string
}

// crdVersions are what .Capabilities.APIVersions gains from crds: each
// group/version and group/version/Kind they serve.
func crdVersions(crds []*unstructured.Unstructured) []string {
	var out []string
	for gk, k := range crdKinds(crds) {
		for _, v := range k.versions {
			out = append(out, gk.Group+"/"+v, gk.Group+"/"+v+"/"+gk.Kind)
		}
	}
	sort.Strings(out)
	return out
}

// withCRDs is mapper knowing the (namespaced) kinds crds define, which
// the cluster does not serve before they are applied.
func withCRDs(mapper meta.RESTMapper, crds []*unstructured.Unstructured) meta.RESTMapper {
	if len(crds) == 0 {
		return mapper
	}
	return crdMapper{RESTMapper: mapper, kinds: crdKinds(crds)}
}

type crdMapper struct {
	meta.RESTMapper
	kinds map[schema.GroupKind]crdKindOf
}

func (m crdMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	k, ok := m.kinds[gk]
	if !ok {
		return m.RESTMapper.RESTMapping(gk, versions...)
	}
	for _, v := range versions {
		if slices.Contains(k.versions, v) {
			return &meta.RESTMapping{Resource: schema.GroupVersionResource{Group: gk.Group, Version: v, Resource: k.resource},
				GroupVersionKind: gk.WithVersion(v), Scope: meta.RESTScopeNamespace}, nil
		}
	}
	return nil, fmt.Errorf("the chart's CustomResourceDefinition for %s serves none of %v", gk, versions)
}
