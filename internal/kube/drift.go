package kube

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ForeignEdits returns the field managers, other than Berth and the
// Kubernetes controllers, that changed obj's spec after since: someone
// edited what Berth owns (kubectl edit, a script). Status and scale
// subresource writes are not edits.
func ForeignEdits(obj metav1.Object, since time.Time) []string {
	var out []string
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager == ManagedBy || mf.Manager == "kube-controller-manager" || mf.Subresource != "" {
			continue
		}
		if mf.Time != nil && mf.Time.After(since) {
			out = append(out, mf.Manager)
		}
	}
	return out
}
