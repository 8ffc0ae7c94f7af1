package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// LabelRole marks the objects a gray plan adds beside an application's main
// ones: "version" (a per-version Service or Deployment).
const LabelRole = "berth.dev/role"

// RenderVersionService returns the Service named name that selects only the
// pods of w.Version (by the version label), with the version's ports; nil
// when the version serves none. Gray routing sends each version's traffic
// to its own Service.
func RenderVersionService(w Workload, name string) (*unstructured.Unstructured, error) {
	if len(w.Version.Orchestration.Ports) == 0 {
		return nil, nil
	}
	labels := w.labels()
	labels[LabelRole] = "version"
	labels[LabelVersion] = w.Version.Name
	svc := w.service(labels, map[string]string{LabelApp: w.App, LabelVersion: w.Version.Name})
	svc.Name = name
	out, err := toUnstructured([]runtime.Object{svc})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// RenderBeside returns the objects that run w.Version as a second
// Deployment named name beside the application's main one: the Deployment
// (selecting the application's pods of that version only), its
// environment ConfigMap and its mounted files' ConfigMap and Secret. The replica count is fixed (w.Replicas, else the
// version's, else its autoscaling minimum): no autoscaler, no disruption
// budget. Render keeps nothing of w.
func RenderBeside(w Workload, name string) ([]*unstructured.Unstructured, error) {
	o := w.Version.Orchestration
	if w.Replicas == nil {
		n := o.Replicas
		if o.Autoscaling != nil {
			n = o.Autoscaling.MinReplicas
		}
		w.Replicas = &n
	}
	w.Version.Orchestration.Autoscaling = nil
	objs, err := Render(w)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, u := range objs {
		switch u.GetKind() {
		case "ConfigMap", "Secret": // "<app>-env", "<app>-files"
			u.SetName(name + strings.TrimPrefix(u.GetName(), w.App))
		case "Deployment":
			if err := beside(u, w, name); err != nil {
				return nil, err
			}
		default:
			continue
		}
		l := u.GetLabels()
		l[LabelRole] = "version"
		l[LabelVersion] = w.Version.Name
		u.SetLabels(l)
		out = append(out, u)
	}
	return out, nil
}

func beside(u *unstructured.Unstructured, w Workload, name string) error {
	u.SetName(name)
	sel := map[string]any{LabelApp: w.App, LabelVersion: w.Version.Name}
	if err := unstructured.SetNestedMap(u.Object, sel, "spec", "selector", "matchLabels"); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	for _, c := range containers {
		cm, _ := c.(map[string]any)
		from, _ := cm["envFrom"].([]any)
		for _, f := range from {
			if ref, ok := f.(map[string]any)["configMapRef"].(map[string]any); ok {
				ref["name"] = name + "-env"
			}
		}
	}
	if err := unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return err
	}
	return besideFiles(u, w, name)
}

// besideFiles points the projected volumes of the mounted files at the
// second Deployment's own "-files" ConfigMap and Secret.
func besideFiles(u *unstructured.Unstructured, w Workload, name string) error {
	volumes, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "volumes")
	if err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	for _, v := range volumes {
		projected, _ := v.(map[string]any)["projected"].(map[string]any)
		sources, _ := projected["sources"].([]any)
		for _, s := range sources {
			for _, kind := range []string{"configMap", "secret"} {
				if ref, ok := s.(map[string]any)[kind].(map[string]any); ok && ref["name"] == w.filesName() {
					ref["name"] = name + "-files"
				}
			}
		}
	}
	return unstructured.SetNestedSlice(u.Object, volumes, "spec", "template", "spec", "volumes")
}

// ServiceServing reports whether the Service namespace/name has at least
// one ready endpoint in the EndpointSlices that the Service itself owns:
// whether traffic sent to it now finds a pod. Slices left over from an
// earlier Service of the same name (the garbage collector removes them a
// little after the Service) bear the same service-name label but another
// owner; they describe pods that are gone or going, so they never count.
func ServiceServing(ctx context.Context, client kubernetes.Interface, namespace, name string) (bool, error) {
	n, err := ReadyEndpoints(ctx, client, namespace, name, "")
	return n > 0, err
}

// ReadyEndpoints counts the ready endpoints in the EndpointSlices that
// Service namespace/name itself owns (see ServiceServing), leaving out
// those of pods whose name starts with without ("" leaves out none): how
// many pods traffic sent to the Service finds once those pods are gone.
// The slices are read from the API server, not a cache: they say what a
// gateway following them sees.
func ReadyEndpoints(ctx context.Context, client kubernetes.Interface, namespace, name, without string) (int, error) {
	svc, err := client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("service %s/%s: %w", namespace, name, err)
	}
	list, err := client.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return 0, fmt.Errorf("endpoints of %s/%s: %w", namespace, name, err)
	}
	n := 0
	for _, s := range list.Items {
		if !slices.ContainsFunc(s.OwnerReferences, func(o metav1.OwnerReference) bool { return o.UID == svc.UID }) {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			if without != "" && e.TargetRef != nil && strings.HasPrefix(e.TargetRef.Name, without) {
				continue
			}
			n++
		}
	}
	return n, nil
}

// DeploymentRolledTo reads Deployment namespace/name from the API server
// (a watcher's cache can lag by seconds under load, and still show the
// Deployment as it was before its last rollout) and reports whether it has
// rolled to version (RolledTo), and how many replicas it wants.
func DeploymentRolledTo(ctx context.Context, client kubernetes.Interface, namespace, name, version string) (rolled bool, want int32, err error) {
	d, err := liveDeployment(ctx, client, namespace, name)
	if d == nil {
		return false, 0, err
	}
	return RolledTo(d, version), wantReplicas(d), nil
}

// DeploymentAvailable reads Deployment namespace/name from the API server
// (not from a watcher's cache, which may still hold an earlier Deployment
// of the same name) and reports whether it runs every replica it wants.
func DeploymentAvailable(ctx context.Context, client kubernetes.Interface, namespace, name string) (bool, error) {
	d, err := liveDeployment(ctx, client, namespace, name)
	return Available(d), err
}

// liveDeployment reads Deployment namespace/name from the API server; nil
// when there is none (or it could not be read: then with the error).
func liveDeployment(ctx context.Context, client kubernetes.Interface, namespace, name string) (*appsv1.Deployment, error) {
	d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: %w", namespace, name, err)
	}
	return d, nil
}

// RolledTo reports whether Deployment d has finished rolling out pods of
// version: every replica updated and available, none of another version.
func RolledTo(d *appsv1.Deployment, version string) bool {
	if d == nil || d.Spec.Template.Labels[LabelVersion] != version || d.Status.ObservedGeneration < d.Generation {
		return false
	}
	want, s := wantReplicas(d), d.Status
	return s.UpdatedReplicas == want && s.Replicas == want && s.AvailableReplicas == want
}

// Available reports whether Deployment d runs every replica it wants,
// updated and available.
func Available(d *appsv1.Deployment) bool {
	if d == nil || d.Status.ObservedGeneration < d.Generation {
		return false
	}
	want := wantReplicas(d)
	return d.Status.UpdatedReplicas >= want && d.Status.AvailableReplicas >= want
}

// wantReplicas is how many replicas d asks for (1 when it does not say).
func wantReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas != nil {
		return *d.Spec.Replicas
	}
	return 1
}
