package kube_test

import (
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/netasset"
)

// TestExposedPortsStayReachableUnderIsolation renders an isolated project
// with one exposed port and has cyclonus decide: a client outside the
// cluster reaches the exposed port of the exposed application and nothing
// else; the gateway namespace and the gateway's addresses reach everything.
func TestExposedPortsStayReachableUnderIsolation(t *testing.T) {
	objs, err := kube.RenderIsolation(netasset.NamespacePolicy{Namespace: "bank-pay", Tenant: "bank", Project: "pay",
		Level: netasset.LevelApplication, Apps: []string{"red-auth", "blue-pay"},
		Exposed:      []netasset.ExposedPort{{Application: "red-auth", ContainerPort: 8080, Protocol: "TCP"}},
		GatewayCIDRs: []string{"192.0.2.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	var pols []*networkingv1.NetworkPolicy
	for _, o := range objs {
		var np networkingv1.NetworkPolicy
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &np); err != nil {
			t.Fatal(err)
		}
		pols = append(pols, &np)
	}
	engine := matcher.BuildNetworkPolicies(true, pols)
	nsLabels := map[string]string{kube.LabelTenant: "bank", kube.LabelProject: "pay"}
	pod := func(app string) *matcher.TrafficPeer {
		return &matcher.TrafficPeer{IP: "10.1.0.9", Internal: &matcher.InternalPeer{Namespace: "bank-pay", NamespaceLabels: nsLabels,
			PodLabels: map[string]string{kube.LabelApp: app, kube.LabelTenant: "bank", kube.LabelProject: "pay"}}}
	}
	outside := &matcher.TrafficPeer{IP: "203.0.113.5"}
	gateway := &matcher.TrafficPeer{IP: "10.1.0.2", Internal: &matcher.InternalPeer{Namespace: "edge",
		NamespaceLabels: map[string]string{kube.LabelNetworkRole: kube.RoleGateway}, PodLabels: map[string]string{"app": "gw"}}}
	// A tenant's environment namespace carrying the gateway's role (granted
	// with it, or labelled behind Berth's back) is not the gateway.
	tenantAsGateway := &matcher.TrafficPeer{IP: "10.1.0.3", Internal: &matcher.InternalPeer{Namespace: "mallory-dev",
		NamespaceLabels: map[string]string{kube.LabelNetworkRole: kube.RoleGateway, kube.LabelTenant: "mallory", kube.LabelProject: "x"},
		PodLabels:       map[string]string{"app": "evil"}}}
	for _, c := range []struct {
		name string
		src  *matcher.TrafficPeer
		dst  string
		port int
		want bool
	}{
		{"outside to the exposed port", outside, "red-auth", 8080, true},
		{"outside to another port of the exposed app", outside, "red-auth", 9090, false},
		{"outside to an app not exposed", outside, "blue-pay", 8080, false},
		{"another app of the project (application level)", pod("blue-pay"), "red-auth", 9090, false},
		{"the same app", pod("red-auth"), "red-auth", 9090, true},
		{"the gateway", gateway, "blue-pay", 8080, true},
		{"a tenant's namespace labelled as the gateway", tenantAsGateway, "blue-pay", 8080, false},
		{"a gateway outside the cluster", &matcher.TrafficPeer{IP: "192.0.2.17"}, "blue-pay", 9090, true},
	} {
		tr := &matcher.Traffic{Source: c.src, Destination: pod(c.dst), ResolvedPort: c.port, Protocol: corev1.ProtocolTCP}
		if got := engine.IsTrafficAllowed(tr).IsAllowed(); got != c.want {
			t.Errorf("%s: allowed=%v, want %v", c.name, got, c.want)
		}
	}
}
