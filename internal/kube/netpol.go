package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"berth.dev/berth/internal/netasset"
)

const (
	// LabelNetworkRole marks namespaces by network role; the gateway's
	// namespace carries RoleGateway and isolated pods always accept it.
	LabelNetworkRole = "berth.dev/network-role"
	RoleGateway      = "gateway"
	// LabelPolicy marks the NetworkPolicies Berth renders for isolation,
	// which is how the isolation controller finds what to prune.
	LabelPolicy     = "berth.dev/policy"
	PolicyIsolation = "isolation"
)

// RenderIsolation returns the NetworkPolicies that enforce np in its
// namespace, none when it is not isolated. Ingress only: an isolated pod
// accepts connections from its unit (tenant, project or application), from
// namespaces labelled LabelNetworkRole=gateway and np.GatewayCIDRs, from the peers of np's
// allow rules and, on exposed ports, from anywhere. Egress is never
// restricted, so DNS and outbound calls keep working. RenderIsolation
// keeps nothing of np.
func RenderIsolation(np netasset.NamespacePolicy) ([]*unstructured.Unstructured, error) {
	if np.Level == netasset.LevelNone {
		return nil, nil
	}
	gateway := []networkingv1.NetworkPolicyPeer{{NamespaceSelector: gatewayNamespaces()}}
	for _, cidr := range np.GatewayCIDRs {
		gateway = append(gateway, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	base := []networkingv1.NetworkPolicyIngressRule{{From: gateway}}
	switch np.Level {
	case netasset.LevelTenant:
		base = append(base, fromNamespaces(np.Tenant, ""))
	case netasset.LevelProject:
		base = append(base, fromNamespaces(np.Tenant, np.Project))
	}
	objs := []runtime.Object{policy(np, "berth-isolation", nil, base)}
	if np.Level == netasset.LevelApplication {
		for _, app := range np.Apps {
			peer := networkingv1.NetworkPolicyPeer{NamespaceSelector: selector(map[string]string{LabelTenant: np.Tenant, LabelProject: np.Project}),
				PodSelector: selector(map[string]string{LabelApp: app})}
			objs = append(objs, policy(np, "berth-isolation-app-"+app, map[string]string{LabelApp: app},
				[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{peer}}}))
		}
	}
	for _, al := range np.Allows {
		objs = append(objs, allowPolicy(np, al))
	}
	for _, e := range np.Exposed {
		proto := corev1.Protocol(e.Protocol)
		port := intstr.FromInt32(e.ContainerPort)
		objs = append(objs, policy(np, fmt.Sprintf("berth-exposed-%s-%d", e.Application, e.ContainerPort), map[string]string{LabelApp: e.Application},
			[]networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &proto, Port: &port}}}}))
	}
	return toUnstructured(objs)
}

func fromNamespaces(tenant, project string) networkingv1.NetworkPolicyIngressRule {
	l := map[string]string{LabelTenant: tenant}
	if project != "" {
		l[LabelProject] = project
	}
	return networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: selector(l)}}}
}

// gatewayNamespaces selects the gateway's namespaces: labelled with the
// gateway role and not an environment's. Berth stamps every environment
// namespace with its tenant, so a tenant's namespace that somehow carries
// the role (granted with it, or labelled behind Berth's back) is still not
// trusted as the gateway.
func gatewayNamespaces() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{LabelNetworkRole: RoleGateway},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelTenant, Operator: metav1.LabelSelectorOpDoesNotExist}}}
}

func selector(l map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: l}
}

// allowPolicy lets al.From reach al.To's pods in np's namespace; its name
// is derived from the rule so it stays stable while the rule does.
func allowPolicy(np netasset.NamespacePolicy, al netasset.Allow) runtime.Object {
	from := map[string]string{LabelTenant: al.From.Tenant}
	if al.From.Project != "" {
		from[LabelProject] = al.From.Project
	}
	peer := networkingv1.NetworkPolicyPeer{NamespaceSelector: selector(from)}
	if al.From.Application != "" {
		peer.PodSelector = selector(map[string]string{LabelApp: al.From.Application})
	}
	var to map[string]string
	if al.To.Application != "" {
		to = map[string]string{LabelApp: al.To.Application}
	}
	sum := sha256.Sum256([]byte(al.From.String() + ">" + al.To.String()))
	return policy(np, "berth-allow-"+hex.EncodeToString(sum[:])[:12], to,
		[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{peer}}})
}

// policy is an ingress NetworkPolicy of np's namespace selecting the pods
// with podLabels (every pod when nil).
func policy(np netasset.NamespacePolicy, name string, podLabels map[string]string, rules []networkingv1.NetworkPolicyIngressRule) runtime.Object {
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelTenant: np.Tenant, LabelProject: np.Project, LabelPolicy: PolicyIsolation}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: metaOf(name, np.Namespace, labels),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: podLabels},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     rules,
		},
	}
}

var networkPolicyGVR = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}

// IsolationPolicies lists the isolation NetworkPolicies Berth applied in
// every namespace of the cluster: the inventory the next apply prunes.
func (a *Applier) IsolationPolicies(ctx context.Context) (Inventory, error) {
	list, err := a.dyn.Resource(networkPolicyGVR).List(ctx, metav1.ListOptions{
		LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelPolicy + "=" + PolicyIsolation})
	if err != nil {
		return nil, fmt.Errorf("list isolation policies: %w", err)
	}
	inv := make(Inventory, 0, len(list.Items))
	for i := range list.Items {
		inv = append(inv, RefOf(&list.Items[i]))
	}
	sortInventory(inv)
	return inv, nil
}
