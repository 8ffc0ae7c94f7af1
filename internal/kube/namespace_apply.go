package kube

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"berth.dev/berth/internal/tenancy"
)

var namespaceGVR = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// ErrNamespaceTaken is returned, wrapped, when a namespace is marked as
// another environment's.
var ErrNamespaceTaken = errors.New("namespace used by another environment")

// NamespaceConflictError says that applying an environment's namespace
// objects would take fields another field manager owns, in a namespace
// Berth did not create: Berth leaves them and reports it.
type NamespaceConflictError struct {
	Namespace string
	Err       error
}

func (e *NamespaceConflictError) Error() string {
	return fmt.Sprintf("namespace %s was not created by Berth and another manager owns fields Berth would set; "+
		"Berth does not take them over: %v", e.Namespace, e.Err)
}

func (e *NamespaceConflictError) Unwrap() error { return e.Err }

// ApplyNamespace applies what RenderNamespace returned: objs[0] the
// Namespace, marked with its owner, then the objects inside it. A missing
// namespace is created, marked as created by Berth. In a namespace Berth
// created for this owner, apply takes back fields others changed (force);
// in any other (granted, or made before Berth marked its namespaces) it
// never does, and a field another manager owns is a
// *NamespaceConflictError. A namespace marked as another environment's is
// ErrNamespaceTaken, and nothing is applied.
func (a *Applier) ApplyNamespace(ctx context.Context, objs []*unstructured.Unstructured) error {
	if len(objs) == 0 || objs[0].GetKind() != "Namespace" {
		return errors.New("apply namespace: the first object must be the Namespace")
	}
	ns := objs[0].DeepCopy()
	owner := ns.GetAnnotations()[AnnotationOwner]
	created, err := a.claimNamespace(ctx, ns, owner)
	if err != nil {
		return err
	}
	if created {
		ann := ns.GetAnnotations()
		ann[AnnotationCreated] = "true"
		ns.SetAnnotations(ann)
	}
	for _, obj := range append([]*unstructured.Unstructured{ns}, objs[1:]...) {
		ri, err := a.resource(RefOf(obj))
		if err != nil {
			return err
		}
		_, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: ManagedBy, Force: created})
		if apierrors.IsConflict(err) && !created {
			return &NamespaceConflictError{Namespace: ns.GetName(), Err: err}
		}
		if err != nil {
			return fmt.Errorf("apply %s: %w", RefOf(obj), err)
		}
	}
	return nil
}

// claimNamespace creates ns, marked as created by Berth for owner, when it
// does not exist, and reports whether Berth created it for owner.
func (a *Applier) claimNamespace(ctx context.Context, ns *unstructured.Unstructured, owner string) (bool, error) {
	ri := a.dyn.Resource(namespaceGVR)
	live, err := ri.Get(ctx, ns.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		fresh := &unstructured.Unstructured{}
		fresh.SetAPIVersion("v1")
		fresh.SetKind("Namespace")
		fresh.SetName(ns.GetName())
		fresh.SetAnnotations(map[string]string{AnnotationOwner: owner, AnnotationCreated: "true"})
		_, err = ri.Create(ctx, fresh, metav1.CreateOptions{FieldManager: ManagedBy})
		if err == nil {
			return true, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return false, fmt.Errorf("create namespace %s: %w", ns.GetName(), err)
		}
		live, err = ri.Get(ctx, ns.GetName(), metav1.GetOptions{}) // created meanwhile by someone else
	}
	if err != nil {
		return false, fmt.Errorf("read namespace %s: %w", ns.GetName(), err)
	}
	ann := live.GetAnnotations()
	if o := ann[AnnotationOwner]; o != "" && o != owner {
		return false, fmt.Errorf("namespace %s: %w (%s)", ns.GetName(), ErrNamespaceTaken, o)
	}
	return ann[AnnotationOwner] == owner && ann[AnnotationCreated] == "true", nil
}

// NamespaceInspector reads namespaces for tenancy's checks of
// environments; it implements tenancy.NamespaceInspector. It connects
// with the kubeconfig it is given, so it also answers for a cluster
// registered a moment ago.
type NamespaceInspector struct{}

var _ tenancy.NamespaceInspector = NamespaceInspector{}

// InspectNamespace implements tenancy.NamespaceInspector.
func (NamespaceInspector) InspectNamespace(ctx context.Context, cluster string, kubeconfig []byte, name string) (tenancy.LiveNamespace, error) {
	cfg, err := RESTConfigFromKubeconfig(kubeconfig)
	if err != nil {
		return tenancy.LiveNamespace{}, err
	}
	cfg.Timeout = probeTimeout * 5
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return tenancy.LiveNamespace{}, err
	}
	ns, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return tenancy.LiveNamespace{}, nil
	}
	if err != nil {
		return tenancy.LiveNamespace{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, cluster, err)
	}
	return liveNamespace(ns), nil
}

func liveNamespace(ns *corev1.Namespace) tenancy.LiveNamespace {
	return tenancy.LiveNamespace{
		Exists:         true,
		Owner:          ns.Annotations[AnnotationOwner],
		CreatedByBerth: ns.Annotations[AnnotationCreated] == "true",
		Gateway:        ns.Labels[LabelNetworkRole] == RoleGateway,
	}
}
