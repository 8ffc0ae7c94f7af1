package kube

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// NodeAddress returns the address clients reach a node port on: the
// ExternalIP, else the InternalIP, of node prefer, or of the first node by
// name when prefer is empty or unknown. It is "" when no node has one.
func (w *Watcher) NodeAddress(prefer string) string {
	if prefer != "" {
		if n, err := w.nodeList.Get(prefer); err == nil {
			if ip := nodeIP(n); ip != "" {
				return ip
			}
		}
	}
	nodes, err := w.nodeList.List(labels.Everything())
	if err != nil {
		return ""
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	for _, n := range nodes {
		if ip := nodeIP(n); ip != "" {
			return ip
		}
	}
	return ""
}

func nodeIP(n *corev1.Node) string {
	for _, want := range []corev1.NodeAddressType{corev1.NodeExternalIP, corev1.NodeInternalIP} {
		for _, a := range n.Status.Addresses {
			if a.Type == want && a.Address != "" {
				return a.Address
			}
		}
	}
	return ""
}
