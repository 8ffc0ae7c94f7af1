package kube

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Drift is read from managedFields, never from clocks: server-side apply
// records which fields each field manager owns. After Berth's apply, Berth's
// entry owns every field it sent. Anyone who then changes one of them — an
// Update by kubectl edit, kubectl scale through the scale subresource, a
// forced apply by another manager — takes that field's ownership away from
// Berth (an Update that removes the field removes it from every entry). So
// a field Berth owned after its last apply and no longer owns is drift,
// whoever made it and whenever their clock says it was. A co-owner who
// applied the same value takes nothing: the value is still Berth's, and it
// is not drift. Fields Berth never sent (an extra label someone added) are
// not Berth's to restore.

// ownership remembers, per object Berth applied through one Applier, the
// fields its apply owned as the API server reported them.
type ownership struct {
	mu     sync.Mutex
	fields map[string]fieldSet // by ownedKey
}

// fieldSet is a set of field paths of a managedFields entry, written as
// the path of FieldsV1 keys: "f:spec/f:replicas".
type fieldSet map[string]struct{}

func ownedKey(ref ObjectRef) string {
	return ref.Kind + "." + ref.Group + " " + ref.Namespace + "/" + ref.Name
}

// remember records what Berth owns of obj, the API server's answer to
// Berth's apply of it.
func (o *ownership) remember(ref ObjectRef, obj metav1.Object) {
	owned := berthFields(obj)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fields == nil {
		o.fields = map[string]fieldSet{}
	}
	o.fields[ownedKey(ref)] = owned
}

func (o *ownership) forget(ref ObjectRef) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.fields, ownedKey(ref))
}

func (o *ownership) baseline(ref ObjectRef) (fieldSet, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s, ok := o.fields[ownedKey(ref)]
	return s, ok
}

// Drift returns who changed the fields Berth's last apply (through this
// Applier) of ref owned and obj, the live object, shows Berth no longer
// owns: one entry per other field manager holding them now, as
// "manager (subresource): paths", or "(removed): paths" for fields no one
// holds. Nil when nothing Berth owned was taken, or when Berth has not
// applied ref since it connected (the next apply takes everything back
// anyway). It keeps nothing of obj.
func (a *Applier) Drift(ref ObjectRef, obj metav1.Object) []string {
	base, ok := a.owned.baseline(ref)
	if !ok {
		return nil
	}
	live := berthFields(obj)
	lost := fieldSet{}
	for p := range base {
		if _, ok := live[p]; !ok {
			lost[p] = struct{}{}
		}
	}
	if len(lost) == 0 {
		return nil
	}
	var out []string
	held := fieldSet{}
	for _, mf := range obj.GetManagedFields() {
		if isBerth(mf) {
			continue
		}
		var paths []string
		for p := range fieldsOf(mf) {
			if _, ok := lost[p]; ok && leaf(lost, p) {
				paths = append(paths, p)
				held[p] = struct{}{}
			}
		}
		if len(paths) == 0 {
			continue
		}
		who := mf.Manager
		if mf.Subresource != "" {
			who += " (" + mf.Subresource + ")"
		}
		out = append(out, who+": "+describe(paths))
	}
	var removed []string
	for p := range lost {
		if _, ok := held[p]; !ok && leaf(lost, p) {
			removed = append(removed, p)
		}
	}
	if len(removed) > 0 {
		out = append(out, "(removed): "+describe(removed))
	}
	sort.Strings(out)
	return out
}

func isBerth(mf metav1.ManagedFieldsEntry) bool {
	return mf.Manager == ManagedBy && mf.Operation == metav1.ManagedFieldsOperationApply && mf.Subresource == ""
}

// berthFields is the set of fields Berth's apply entry of obj owns.
func berthFields(obj metav1.Object) fieldSet {
	for _, mf := range obj.GetManagedFields() {
		if isBerth(mf) {
			return fieldsOf(mf)
		}
	}
	return fieldSet{}
}

// fieldsOf flattens a FieldsV1 document into the paths of its nodes.
func fieldsOf(mf metav1.ManagedFieldsEntry) fieldSet {
	out := fieldSet{}
	if mf.FieldsV1 == nil {
		return out
	}
	var tree map[string]any
	if err := json.Unmarshal(mf.FieldsV1.Raw, &tree); err != nil {
		return out
	}
	var walk func(prefix string, node map[string]any)
	walk = func(prefix string, node map[string]any) {
		for k, v := range node {
			if k == "." {
				continue // the element itself; its path is the parent's
			}
			p := prefix + k
			out[p] = struct{}{}
			if child, ok := v.(map[string]any); ok {
				walk(p+"/", child)
			}
		}
	}
	walk("", tree)
	return out
}

// leaf reports whether p has no descendant in s: the most precise path of
// what changed, which is what is worth naming.
func leaf(s fieldSet, p string) bool {
	for q := range s {
		if strings.HasPrefix(q, p+"/") {
			return false
		}
	}
	return true
}

// describe names paths the way people read them: "spec.replicas",
// "spec.template.spec.containers[name=app].image"; at most five.
func describe(paths []string) string {
	names := make([]string, len(paths))
	for i, p := range paths {
		var b strings.Builder
		for j, part := range strings.Split(p, "/") {
			switch {
			case strings.HasPrefix(part, "f:"):
				if j > 0 {
					b.WriteByte('.')
				}
				b.WriteString(strings.TrimPrefix(part, "f:"))
			case strings.HasPrefix(part, "k:"):
				b.WriteString("[" + keyOf(strings.TrimPrefix(part, "k:")) + "]")
			default:
				b.WriteString("[" + part + "]")
			}
		}
		names[i] = b.String()
	}
	slices.Sort(names)
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	return strings.Join(names, ", ")
}

// keyOf turns an associative list key {"name":"app"} into name=app.
func keyOf(raw string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return raw
	}
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
