package kube_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/resource"
)

// TestRenderNodePortsAndBandwidth renders a version with two ports, one of
// them allocated a node port, and per-instance bandwidth: the ClusterIP
// Service keeps both ports, a NodePort Service carries exactly the
// allocated one, and the pod template has the bandwidth annotations.
func TestRenderNodePortsAndBandwidth(t *testing.T) {
	in, _ := resource.ParseQuantity("10M")
	w := kube.Workload{Tenant: "bank", Project: "channels", Environment: "test", Namespace: "ns", App: "red-auth",
		Version: apps.Version{Name: "v1", Image: "r/a:1", Orchestration: apps.Orchestration{Replicas: 1,
			Ports:     []apps.Port{{Name: "http", ContainerPort: 8080}, {Name: "admin", ContainerPort: 9090}},
			Bandwidth: &apps.Bandwidth{Ingress: in}}},
		NodePorts: map[string]int32{"http": 30061}}
	objs, err := kube.Render(w)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		byName[o.GetKind()+"/"+o.GetName()] = o
	}
	np := byName["Service/red-auth-nodeport"]
	if np == nil {
		t.Fatalf("no NodePort Service among %v", keys(byName))
	}
	typ, _, _ := unstructured.NestedString(np.Object, "spec", "type")
	ports, _, _ := unstructured.NestedSlice(np.Object, "spec", "ports")
	if typ != "NodePort" || len(ports) != 1 || ports[0].(map[string]any)["nodePort"] != int64(30061) || ports[0].(map[string]any)["name"] != "http" {
		t.Fatalf("NodePort Service = %v %v", typ, ports)
	}
	internal, _, _ := unstructured.NestedSlice(byName["Service/red-auth"].Object, "spec", "ports")
	if len(internal) != 2 {
		t.Fatalf("ClusterIP Service ports = %v", internal)
	}
	ann, _, _ := unstructured.NestedStringMap(byName["Deployment/red-auth"].Object, "spec", "template", "metadata", "annotations")
	if ann[kube.AnnotationIngressBandwidth] != in.String() || ann[kube.AnnotationEgressBandwidth] != "" {
		t.Fatalf("annotations = %v", ann)
	}
	w.NodePorts = nil
	objs, _ = kube.Render(w)
	for _, o := range objs {
		if o.GetName() == "red-auth-nodeport" {
			t.Fatal("a NodePort Service without allocations")
		}
	}
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
