package kube

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"berth.dev/berth/internal/apps"
)

// The pod annotations Kubernetes's bandwidth plugin enforces.
const (
	AnnotationIngressBandwidth = "kubernetes.io/ingress-bandwidth"
	AnnotationEgressBandwidth  = "kubernetes.io/egress-bandwidth"
)

// bandwidthAnnotations writes the version's per-instance bandwidth into
// the pod template's annotations.
func bandwidthAnnotations(b *apps.Bandwidth, annotations map[string]string) {
	if b == nil {
		return
	}
	if b.Ingress > 0 {
		annotations[AnnotationIngressBandwidth] = b.Ingress.String()
	}
	if b.Egress > 0 {
		annotations[AnnotationEgressBandwidth] = b.Egress.String()
	}
}

// NodePortSuffix names the Service that exposes an application's allocated
// node ports: "<app>-nodeport".
const NodePortSuffix = "-nodeport"

// nodePortService returns the NodePort Service of the workload's allocated
// node ports, each port with exactly its allocated nodePort, or nil when
// none is allocated. The application's ClusterIP Service stays as it is,
// so ports without an allocation never receive a node port Kubernetes
// would choose outside Berth's pools.
func (w Workload) nodePortService(labels, selector map[string]string) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: w.objectMeta(w.App+NodePortSuffix, labels),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: selector},
	}
	for _, p := range w.Version.Orchestration.Ports {
		np, ok := w.NodePorts[p.Name]
		if !ok {
			continue
		}
		proto := corev1.ProtocolTCP
		if p.Protocol == "UDP" {
			proto = corev1.ProtocolUDP
		}
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: p.Name, Port: p.ContainerPort, Protocol: proto, TargetPort: intstr.FromString(p.Name), NodePort: np,
		})
	}
	if len(svc.Spec.Ports) == 0 {
		return nil
	}
	return svc
}
