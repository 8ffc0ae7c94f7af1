package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
)

// ObjectRef names one applied object.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r ObjectRef) String() string {
	gv := r.Version
	if r.Group != "" {
		gv = r.Group + "/" + r.Version
	}
	if r.Namespace == "" {
		return fmt.Sprintf("%s %s %s", gv, r.Kind, r.Name)
	}
	return fmt.Sprintf("%s %s %s/%s", gv, r.Kind, r.Namespace, r.Name)
}

// RefOf returns the reference of obj.
func RefOf(obj *unstructured.Unstructured) ObjectRef {
	gvk := obj.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// Inventory is the set of objects one apply owns, sorted. Callers keep it
// (Berth stores it with the deployment record) and pass it to the next
// apply, which prunes what it no longer renders.
type Inventory []ObjectRef

func (inv Inventory) has(r ObjectRef) bool {
	for _, x := range inv {
		if x.Group == r.Group && x.Kind == r.Kind && x.Namespace == r.Namespace && x.Name == r.Name {
			return true
		}
	}
	return false
}

// Applier applies objects to one cluster with server-side apply.
type Applier struct {
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
	owned  ownership // what each apply owned, for Drift
}

// NewApplier returns an Applier for the cluster cfg points at.
func NewApplier(cfg *rest.Config) (*Applier, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

func (a *Applier) resource(ref ObjectRef) (dynamic.ResourceInterface, error) {
	gk := schema.GroupKind{Group: ref.Group, Kind: ref.Kind}
	m, err := a.mapper.RESTMapping(gk, ref.Version)
	if meta.IsNoMatchError(err) {
		// A CRD installed since discovery was cached.
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gk, ref.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(ref.Namespace), nil
	}
	return a.dyn.Resource(m.Resource), nil
}

// Apply applies objs in order with server-side apply as field manager
// "berth", taking back any field another manager changed, then deletes
// the objects of previous that objs no longer contain. It returns the new
// inventory. Apply keeps neither slice.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, previous Inventory) (Inventory, error) {
	for _, obj := range objs {
		if err := a.applyOne(ctx, obj); err != nil {
			return nil, err
		}
	}
	return a.prune(ctx, objs, previous)
}

// ApplyWorkload is Apply for the objects Render makes: the ConfigMaps and
// Secrets go first, since the Deployment's pods refer to them, then everything else at
// once, so a rollout (or a rollback) reaches the API server after one round
// trip rather than one per object. Objects for which skip (if not nil)
// reports true are known to be applied as they are: they are not sent, but
// stay in the inventory.
func (a *Applier) ApplyWorkload(ctx context.Context, objs []*unstructured.Unstructured, previous Inventory,
	skip func(*unstructured.Unstructured) bool) (Inventory, error) {
	var rest []*unstructured.Unstructured
	for _, obj := range objs {
		if skip != nil && skip(obj) {
			continue
		}
		if k := obj.GetKind(); k != "ConfigMap" && k != "Secret" {
			rest = append(rest, obj)
			continue
		}
		if err := a.applyOne(ctx, obj); err != nil {
			return nil, err
		}
	}
	errs := make([]error, len(rest))
	var wg sync.WaitGroup
	for i, obj := range rest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.applyOne(ctx, obj)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a.prune(ctx, objs, previous)
}

func (a *Applier) applyOne(ctx context.Context, obj *unstructured.Unstructured) error {
	ref := RefOf(obj)
	ri, err := a.resource(ref)
	if err != nil {
		return err
	}
	live, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: ManagedBy, Force: true})
	if err != nil {
		return fmt.Errorf("apply %s: %w", ref, err)
	}
	a.owned.remember(ref, live)
	return nil
}

// prune deletes what previous had and objs do not, and returns the
// inventory of objs.
func (a *Applier) prune(ctx context.Context, objs []*unstructured.Unstructured, previous Inventory) (Inventory, error) {
	inv := make(Inventory, 0, len(objs))
	for _, obj := range objs {
		inv = append(inv, RefOf(obj))
	}
	sortInventory(inv)
	var stale Inventory
	for _, r := range previous {
		if !inv.has(r) {
			stale = append(stale, r)
		}
	}
	if err := a.Delete(ctx, stale); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	return inv, nil
}

// Delete deletes every object of inv; objects already gone are fine.
func (a *Applier) Delete(ctx context.Context, inv Inventory) error {
	var errs []error
	for _, r := range inv {
		ri, err := a.resource(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s: %w", r, err))
			continue
		}
		a.owned.forget(r)
	}
	return errors.Join(errs...)
}

// Get reads the live object ref names.
func (a *Applier) Get(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
	ri, err := a.resource(ref)
	if err != nil {
		return nil, err
	}
	return ri.Get(ctx, ref.Name, metav1.GetOptions{})
}

func sortInventory(inv Inventory) {
	sort.Slice(inv, func(i, j int) bool { return strings.Compare(inv[i].String(), inv[j].String()) < 0 })
}

// Fingerprint is a digest of obj's content: equal fingerprints mean an
// apply of one would send exactly the other.
func Fingerprint(obj *unstructured.Unstructured) string {
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
