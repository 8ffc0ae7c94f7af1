package kube_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
)

// TestEndpointWatcherFollowsEndpointSlices writes EndpointSlices to a real
// API server and checks the addresses the gateway would route to. Pods in
// the local cluster are simulated, so the slices are written directly: the
// watcher only reads them.
func TestEndpointWatcherFollowsEndpointSlices(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	ctx := t.Context()

	w := kube.NewEndpointWatcher(c.Client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	startCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	if err := w.Start(startCtx); err != nil {
		t.Fatal(err)
	}

	api := c.Client.DiscoveryV1().EndpointSlices(ns)
	a := endpointSlice(ns, "red-auth-a", "red-auth",
		endpoint("10.1.0.1", ptr(true), nil), endpoint("10.1.0.2", ptr(false), nil),
		endpoint("10.1.0.3", nil, nil), endpoint("10.1.0.4", ptr(true), ptr(true)))
	other := endpointSlice(ns, "other-a", "other", endpoint("10.9.0.1", ptr(true), nil))
	for _, s := range []*discoveryv1.EndpointSlice{a, other} {
		if _, err := api.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"10.1.0.1:8080", "10.1.0.3:8080"}
	waitFor(t, w, ns, "red-auth", "http", want)
	waitFor(t, w, ns, "red-auth", "8080", want)
	waitFor(t, w, ns, "red-auth", "grpc", nil)

	b := endpointSlice(ns, "red-auth-b", "red-auth", endpoint("10.1.1.1", ptr(true), nil))
	if _, err := api.Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, ns, "red-auth", "http", []string{"10.1.0.1:8080", "10.1.0.3:8080", "10.1.1.1:8080"})

	if err := api.Delete(ctx, "red-auth-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w, ns, "red-auth", "http", []string{"10.1.1.1:8080"})
	waitFor(t, w, ns, "other", "http", []string{"10.9.0.1:8080"})
}

func waitFor(t *testing.T, w *kube.EndpointWatcher, ns, svc, port string, want []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := w.Endpoints(ns, svc, port)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Endpoints(%s, %s, %s) = %v, want %v", ns, svc, port, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

func endpoint(ip string, ready, terminating *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{ip},
		Conditions: discoveryv1.EndpointConditions{Ready: ready, Terminating: terminating}}
}

func endpointSlice(ns, name, svc string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   eps,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(8080))}},
	}
}

// TestServiceServingCountsOnlyTheServicesOwnSlices: a slice left by an
// earlier Service of the same name (same service-name label, another
// owner) lists pods that are gone or going; only the slices the Service
// owns say whether traffic sent to it finds a pod.
func TestServiceServingCountsOnlyTheServicesOwnSlices(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	serving := func(want bool) {
		t.Helper()
		got, err := kube.ServiceServing(ctx, c.Client, ns, "pay--v2")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("ServiceServing(pay--v2) = %v, want %v", got, want)
		}
	}
	slices := c.Client.DiscoveryV1().EndpointSlices(ns)
	if _, err := slices.Create(ctx, endpointSlice(ns, "pay--v2-old", "pay--v2", endpoint("10.2.0.1", ptr(true), nil)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	serving(false) // no Service at all

	svc, err := c.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "pay--v2"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "pay-none"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	serving(false) // the only ready endpoint is in a slice of another owner

	own := endpointSlice(ns, "pay--v2-own", "pay--v2", endpoint("10.2.0.2", ptr(false), nil))
	own.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID}}
	if own, err = slices.Create(ctx, own, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	serving(false) // its own slice, but no endpoint ready

	own.Endpoints = append(own.Endpoints, endpoint("10.2.0.3", ptr(true), nil))
	if _, err := slices.Update(ctx, own, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	serving(true)
}

// TestReadyEndpointsLeaveOutThePodsAboutToGo: counting what serves a
// version's Service once its copy goes leaves out the copy's pods (by
// name prefix) and endpoints not ready, and counts only the Service's own
// slices.
func TestReadyEndpointsLeaveOutThePodsAboutToGo(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	ctx := t.Context()
	svc, err := c.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "pay--v1"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "pay-none"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(ip, name string, ready bool) discoveryv1.Endpoint {
		e := endpoint(ip, ptr(ready), nil)
		e.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: name}
		return e
	}
	own := endpointSlice(ns, "pay--v1-own", "pay--v1",
		pod("10.1.0.1", "pay--v1-6bc54b9df5-q4c87", true), // the copy's
		pod("10.1.0.2", "pay--v1-6bc54b9df5-2ht2n", true), // the copy's
		pod("10.1.0.3", "pay-6bc54b9df5-bl47j", true),     // the main Deployment's
		pod("10.1.0.4", "pay-6bc54b9df5-4vtjj", false))    // the main Deployment's, not ready yet
	own.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID}}
	if _, err := c.Client.DiscoveryV1().EndpointSlices(ns).Create(ctx, own, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale := endpointSlice(ns, "pay--v1-stale", "pay--v1", pod("10.1.0.9", "pay-6bc54b9df5-zzzzz", true)) // another owner
	if _, err := c.Client.DiscoveryV1().EndpointSlices(ns).Create(ctx, stale, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		without string
		want    int
	}{{"", 3}, {"pay--v1-", 1}} {
		got, err := kube.ReadyEndpoints(ctx, c.Client, ns, "pay--v1", tc.without)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("ReadyEndpoints(pay--v1, without %q) = %d, want %d", tc.without, got, tc.want)
		}
	}
	if got, err := kube.ReadyEndpoints(ctx, c.Client, ns, "pay--v9", ""); err != nil || got != 0 {
		t.Errorf("ReadyEndpoints of a missing Service = %d, %v; want 0, nil", got, err)
	}
}
