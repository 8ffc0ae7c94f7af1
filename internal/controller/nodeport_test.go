package controller_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
)

// TestNodePortsMatchAllocations exposes three applications (next free
// port and a requested one), and proves the cluster's NodePort Services
// carry exactly the allocated nodePorts, that the API server itself holds
// those ports (a foreign Service asking for one is refused), and that a
// released port's Service is pruned.
func TestNodePortsMatchAllocations(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	ctx := t.Context()
	names := []string{"red-auth", "blue-pay", "green-gw"}
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, app := range names[1:] {
			if _, err := e.p.Apps.CreateApplication(ctx, tx, alice, apps.Application{Tenant: "bank", Project: "channels", Name: app}); err != nil {
				return err
			}
			if _, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: "bank", Project: "channels", Application: app,
				Name: "v1", Image: "registry.example.com/bank/" + app + ":1", Tier: "small",
				Orchestration: apps.Orchestration{Replicas: 1, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}, {Name: "admin", ContainerPort: 9090}}}},
				apps.VersionOptions{}); err != nil {
				return err
			}
		}
		for _, app := range names {
			if _, err := e.p.Deploy.Deploy(ctx, tx, alice, key(app), "v1"); err != nil {
				return err
			}
		}
		for _, g := range []netasset.Grant{{Cluster: "local", Tenant: "bank", Ports: span(30100, 30199)},
			{Cluster: "local", Tenant: "bank", Project: "channels", Ports: span(30100, 30119)}} {
			if _, err := e.p.Network.SetGrant(ctx, tx, alice, g); err != nil {
				return err
			}
		}
		for app, want := range map[string]int{"red-auth": 0, "blue-pay": 30117, "green-gw": 0} {
			if _, err := e.p.Network.Expose(ctx, tx, alice, netasset.Exposure{Tenant: "bank", Project: "channels", Application: app,
				Environment: "test", PortName: "http", NodePort: want}); err != nil {
				return err
			}
		}
		return nil
	})
	want := e.allocations(t)
	if got := slices.Sorted(maps.Values(want)); !slices.Equal(got, []int32{30100, 30101, 30117}) {
		t.Fatalf("allocations %v, want 30100, 30101 and the requested 30117", want)
	}
	e.waitNodePorts(t, want)

	// The API server's own allocator holds the ports Berth chose.
	foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "squatter", Namespace: e.ns}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"x": "y"},
		Ports: []corev1.ServicePort{{Port: 80, NodePort: want["blue-pay"]}}}}
	_, err := e.c.Client.CoreV1().Services(e.ns).Create(ctx, foreign, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), "provided port is already allocated") {
		t.Fatalf("a foreign Service took node port %d: %v", want["blue-pay"], err)
	}

	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		return e.p.Network.Unexpose(ctx, tx, alice, key("blue-pay"), "http")
	})
	want = e.allocations(t)
	e.waitNodePorts(t, want)
	for _, app := range names {
		d := e.deploymentOf(t, app)
		if d.Applied.Error != "" {
			t.Errorf("%s: apply failed: %s", app, d.Applied.Error)
		}
	}
}

func key(app string) deploy.Key {
	return deploy.Key{Tenant: "bank", Project: "channels", Application: app, Environment: "test"}
}

func span(lo, hi int) netasset.PortSet { return netasset.NewPortSet(netasset.Range{Lo: lo, Hi: hi}) }

// allocations reads Berth's node-port allocations by application.
func (e *env) allocations(t *testing.T) map[string]int32 {
	t.Helper()
	out := map[string]int32{}
	err := e.p.DB.View(t.Context(), func(tx platform.Tx) error {
		held, err := tx.ListAllocations(t.Context(), netasset.AllocationFilter{Cluster: "local"})
		for _, al := range held {
			out[al.Application] = int32(al.Port)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitNodePorts waits until the namespace's NodePort Services are exactly
// want: one per application, its nodePort the allocated one.
func (e *env) waitNodePorts(t *testing.T, want map[string]int32) {
	t.Helper()
	var got map[string]int32
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := e.c.Client.CoreV1().Services(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		got = map[string]int32{}
		for _, s := range list.Items {
			if s.Spec.Type != corev1.ServiceTypeNodePort {
				continue
			}
			for _, p := range s.Spec.Ports {
				got[fmt.Sprintf("%s/%s", strings.TrimSuffix(s.Name, kube.NodePortSuffix), p.Name)] = p.NodePort
			}
		}
		exp := map[string]int32{}
		for app, port := range want {
			exp[app+"/http"] = port
		}
		return maps.Equal(got, exp), nil
	})
	if err != nil {
		t.Fatalf("NodePort services %v never matched the allocations %v", got, want)
	}
}
