package kube

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"berth.dev/berth/internal/resource"
)

// podTemplatePaths are where the workload kinds an install may hold keep
// their pod template.
var podTemplatePaths = map[string][]string{
	"apps/Deployment":  {"spec", "template"},
	"apps/StatefulSet": {"spec", "template"},
	"apps/ReplicaSet":  {"spec", "template"},
	"batch/Job":        {"spec", "template"},
	"batch/CronJob":    {"spec", "jobTemplate", "spec", "template"},
	"/Pod":             nil,
}

// scalable are the kinds whose spec.replicas Berth sets to stop them.
var scalable = map[string]bool{"apps/Deployment": true, "apps/StatefulSet": true}

func groupKind(o *unstructured.Unstructured) string {
	gvk := o.GroupVersionKind()
	return gvk.Group + "/" + gvk.Kind
}

// workloadFootprint is what o holds against quota: each container's
// requests times its replicas (or the most an autoscaler may run,
// maxReplicas, when more), one container per replica and container,
// and a PersistentVolumeClaim's storage. A DaemonSet runs on every node,
// which no project's quota can bound: refused. Containers must request
// CPU and memory, or the quota could not count them.
func workloadFootprint(o *unstructured.Unstructured, maxReplicas int64) (resource.List, error) {
	gk := groupKind(o)
	switch gk {
	case "apps/DaemonSet":
		return nil, fmt.Errorf("a DaemonSet runs on every node: an install may not hold one")
	case "/PersistentVolumeClaim":
		var pvc corev1.PersistentVolumeClaim
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &pvc); err != nil {
			return nil, err
		}
		return storageOf(pvc.Spec.Resources.Requests, 1)
	}
	path, ok := podTemplatePaths[gk]
	if !ok {
		return resource.List{}, nil
	}
	var spec corev1.PodSpec
	raw := o.Object
	if path != nil {
		m, found, err := unstructured.NestedMap(o.Object, path...)
		if err != nil || !found {
			return nil, fmt.Errorf("no pod template at %v", path)
		}
		raw = m
	}
	tmpl, _, _ := unstructured.NestedMap(raw, "spec")
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &spec); err != nil {
		return nil, fmt.Errorf("pod template: %w", err)
	}
	n := int64(1)
	if scalable[gk] || gk == "apps/ReplicaSet" {
		if r, found := intField(o.Object, "spec", "replicas"); found {
			n = r
		}
	}
	n = max(n, maxReplicas)
	if gk == "batch/Job" {
		if p, found := intField(o.Object, "spec", "parallelism"); found {
			n = p
		}
	}
	out := resource.List{resource.Containers: resource.Units(int64(len(spec.Containers))).Times(n)}
	for _, c := range spec.Containers {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			q, ok := c.Resources.Requests[name]
			if !ok {
				return nil, fmt.Errorf("container %s requests no %s: Berth counts every container against the project's quota", c.Name, name)
			}
			out[resource.Name(name)] = out[resource.Name(name)] + resource.MilliUnits(q.MilliValue()).Times(n)
		}
	}
	if gk == "apps/StatefulSet" {
		claims, _, _ := unstructured.NestedSlice(o.Object, "spec", "volumeClaimTemplates")
		for _, c := range claims {
			var pvc corev1.PersistentVolumeClaim
			m, _ := c.(map[string]any)
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &pvc); err != nil {
				return nil, err
			}
			s, err := storageOf(pvc.Spec.Resources.Requests, n)
			if err != nil {
				return nil, err
			}
			out = out.Add(s)
		}
	}
	return out, nil
}

// intField reads a whole number however the decoder typed it.
func intField(obj map[string]any, path ...string) (int64, bool) {
	v, found, err := unstructured.NestedFieldNoCopy(obj, path...)
	if err != nil || !found {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), n == float64(int64(n))
	}
	return 0, false
}

func storageOf(req corev1.ResourceList, n int64) (resource.List, error) {
	q, ok := req[corev1.ResourceStorage]
	if !ok {
		return nil, fmt.Errorf("a volume claim requests no storage")
	}
	return resource.List{resource.Storage: resource.MilliUnits(q.MilliValue()).Times(n)}, nil
}

// ChartWorkload is a chart version to run: its rendered objects in one
// environment's namespace, with the operator's overrides.
type ChartWorkload struct {
	Tenant, Project, Environment, Namespace, App string
	// Version is the name of the chart version (LabelVersion).
	Version string
	Objects []json.RawMessage
	// Stopped scales every Deployment and StatefulSet to zero. (Scale is
	// refused for chart versions: replicas are values, their footprint is
	// counted when the version is rendered.)
	Stopped     bool
	RestartedAt string
}

// RenderChartObjects returns w's objects as the deployment controller
// applies them: in w's namespace, with Berth's labels on each object and
// each pod template (so the watcher sees the install's pods, and network
// isolation selects them), stopped as asked. A selector that
// would no longer match its pods (it uses a label Berth sets, with
// another value) is refused.
func RenderChartObjects(w ChartWorkload) ([]*unstructured.Unstructured, error) {
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelTenant: w.Tenant, LabelProject: w.Project,
		LabelEnvironment: w.Environment, LabelApp: w.App}
	out := make([]*unstructured.Unstructured, 0, len(w.Objects))
	for _, raw := range w.Objects {
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("chart object: %w", err)
		}
		o.SetNamespace(w.Namespace)
		o.SetLabels(merged(o.GetLabels(), labels))
		if err := w.podTemplate(o, labels); err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		gk := groupKind(o)
		if scalable[gk] && w.Stopped {
			if err := unstructured.SetNestedField(o.Object, int64(0), "spec", "replicas"); err != nil {
				return nil, err
			}
		}
		out = append(out, o)
	}
	return out, nil
}

func (w ChartWorkload) podTemplate(o *unstructured.Unstructured, labels map[string]string) error {
	path, ok := podTemplatePaths[groupKind(o)]
	if !ok || path == nil {
		return nil
	}
	sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
	pod := map[string]string{LabelVersion: w.Version}
	for k, v := range labels {
		pod[k] = v
	}
	for k, v := range pod {
		if s, ok := sel[k]; ok && s != v {
			return fmt.Errorf("its selector needs label %s=%s, which Berth sets to %s", k, s, v)
		}
	}
	meta := append(append([]string{}, path...), "metadata")
	have, _, _ := unstructured.NestedStringMap(o.Object, append(meta, "labels")...)
	if err := unstructured.SetNestedStringMap(o.Object, merged(have, pod), append(meta, "labels")...); err != nil {
		return err
	}
	if w.RestartedAt == "" {
		return nil
	}
	ann, _, _ := unstructured.NestedStringMap(o.Object, append(meta, "annotations")...)
	return unstructured.SetNestedStringMap(o.Object, merged(ann, map[string]string{AnnotationRestartedAt: w.RestartedAt}), append(meta, "annotations")...)
}

// merged returns a copy of a with b's entries over it.
func merged(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
