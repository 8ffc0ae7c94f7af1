package kube

import (
	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Namespace is one project environment's namespace.
type Namespace struct {
	Name        string
	Tenant      string
	Project     string
	Environment string
	// Quota mirrors the project's quota (cpu, memory, containers, storage);
	// nil means unlimited.
	Quota resource.List
}

// Default container resources the LimitRange gives containers that state
// none, so a namespace with a quota still admits them.
var (
	defaultRequestCPU    = k8sresource.MustParse("100m")
	defaultRequestMemory = k8sresource.MustParse("128Mi")
)

// RenderNamespace returns the namespace, labelled with its owners and
// marked (AnnotationOwner) as the environment's, with a
// ResourceQuota mirroring the project's quota and a LimitRange defaulting
// container requests (both only when there is a quota).
func RenderNamespace(ns Namespace) ([]*unstructured.Unstructured, error) {
	labels := map[string]string{
		LabelManagedBy: ManagedBy, LabelTenant: ns.Tenant, LabelProject: ns.Project, LabelEnvironment: ns.Environment,
	}
	meta := metaOf(ns.Name, "", labels)
	meta.Annotations = map[string]string{AnnotationOwner: tenancy.OwnerOf(ns.Tenant, ns.Project, ns.Environment)}
	objs := []runtime.Object{&corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: meta}}
	hard := corev1.ResourceList{}
	for name, q := range ns.Quota {
		var keys []corev1.ResourceName
		switch name {
		case resource.CPU:
			keys = []corev1.ResourceName{corev1.ResourceRequestsCPU}
		case resource.Memory:
			keys = []corev1.ResourceName{corev1.ResourceRequestsMemory}
		case resource.Containers:
			keys = []corev1.ResourceName{corev1.ResourcePods}
		case resource.Storage:
			keys = []corev1.ResourceName{corev1.ResourceRequestsEphemeralStorage}
		}
		v, err := k8sresource.ParseQuantity(q.String())
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			hard[k] = v
		}
	}
	if len(hard) > 0 {
		objs = append(objs,
			&corev1.ResourceQuota{TypeMeta: typeMeta("v1", "ResourceQuota"), ObjectMeta: metaOf("berth-project-quota", ns.Name, labels),
				Spec: corev1.ResourceQuotaSpec{Hard: hard}},
			&corev1.LimitRange{TypeMeta: typeMeta("v1", "LimitRange"), ObjectMeta: metaOf("berth-defaults", ns.Name, labels),
				Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
					Type:           corev1.LimitTypeContainer,
					DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: defaultRequestCPU, corev1.ResourceMemory: defaultRequestMemory},
				}}}})
	}
	return toUnstructured(objs)
}
