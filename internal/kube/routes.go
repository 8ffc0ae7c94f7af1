package kube

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// ErrNotOwned matches every *NotOwnedError.
var ErrNotOwned = errors.New("not managed by berth")

// NotOwnedError is returned when Berth would write an object that exists
// but is not Berth's: it lacks the label app.kubernetes.io/managed-by=berth,
// such as a user's own VirtualService of the same name.
type NotOwnedError struct {
	Ref ObjectRef
	// ManagedBy is the object's managed-by label, "" when it has none.
	ManagedBy string
}

func (e *NotOwnedError) Error() string {
	who := "has no " + LabelManagedBy + " label"
	if e.ManagedBy != "" {
		who = fmt.Sprintf("is managed by %q", e.ManagedBy)
	}
	return fmt.Sprintf("%s exists and %s: Berth does not overwrite objects it does not manage; rename or remove it", e.Ref, who)
}

// Is makes errors.Is(err, ErrNotOwned) hold.
func (e *NotOwnedError) Is(target error) bool { return target == ErrNotOwned }

// ApplyOwned applies objs like Apply (server-side apply as field manager
// "berth", then prune of what previous holds and objs no longer do), for
// objects that may collide with users' own, such as traffic routes:
//
//   - every object is applied with the label managed-by=berth;
//   - before anything is written, each object is read; if one exists
//     without that label, ApplyOwned writes nothing and returns a
//     *NotOwnedError naming it;
//   - an existing object is applied with its resourceVersion as a
//     precondition, so one that changes hands meanwhile is not overwritten
//     (the apply fails with a conflict; apply again);
//   - prune deletes only objects that still carry the label.
//
// ApplyOwned keeps neither slice and does not modify objs.
func (a *Applier) ApplyOwned(ctx context.Context, objs []*unstructured.Unstructured, previous Inventory) (Inventory, error) {
	desired := make([]*unstructured.Unstructured, 0, len(objs))
	for _, obj := range objs {
		o, err := a.claim(ctx, obj)
		if err != nil {
			return nil, err
		}
		desired = append(desired, o)
	}
	inv, err := a.Apply(ctx, desired, nil)
	if err != nil {
		return nil, err
	}
	var stale Inventory
	for _, r := range previous {
		if !inv.has(r) {
			stale = append(stale, r)
		}
	}
	if err := a.DeleteOwned(ctx, stale); err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	return inv, nil
}

// claim returns a copy of obj labelled as Berth's, with the live object's
// resourceVersion when it exists, or a *NotOwnedError.
func (a *Applier) claim(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	o := obj.DeepCopy()
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy] = ManagedBy
	o.SetLabels(labels)
	o.SetResourceVersion("")
	ref := RefOf(o)
	live, err := a.Get(ctx, ref)
	switch {
	case apierrors.IsNotFound(err):
		return o, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", ref, err)
	}
	if owner := live.GetLabels()[LabelManagedBy]; owner != ManagedBy {
		return nil, &NotOwnedError{Ref: ref, ManagedBy: owner}
	}
	o.SetResourceVersion(live.GetResourceVersion())
	return o, nil
}

// DeleteOwned deletes the objects of inv that carry the label
// managed-by=berth, each on the precondition that it has not changed since
// it was read; objects already gone, or no longer Berth's, are left alone.
func (a *Applier) DeleteOwned(ctx context.Context, inv Inventory) error {
	var errs []error
	for _, r := range inv {
		if err := a.deleteOwned(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *Applier) deleteOwned(ctx context.Context, r ObjectRef) error {
	ri, err := a.resource(r)
	if err != nil {
		return err
	}
	live, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("read %s: %w", r, err)
	case live.GetLabels()[LabelManagedBy] != ManagedBy:
		return nil
	}
	err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: ptr.To(live.GetUID()), ResourceVersion: ptr.To(live.GetResourceVersion())},
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s: %w", r, err)
	}
	return nil
}
