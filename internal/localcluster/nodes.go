package localcluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// nodeAnnotation marks the nodes kwok simulates.
const nodeAnnotation = "kwok.x-k8s.io/node"

// ZoneLabel is the well-known topology label nodes are spread over.
const ZoneLabel = "topology.kubernetes.io/zone"

// NodeName returns the name of the i-th simulated node (from 0).
func NodeName(i int) string { return fmt.Sprintf("berth-node-%d", i+1) }

// ensureNodes registers the simulated nodes that do not exist yet, spread
// round-robin over the zones, and waits until every one is Ready and free of
// the not-ready taint (which the node lifecycle controller removes).
func (c *Cluster) ensureNodes(ctx context.Context, client kubernetes.Interface) error {
	for i := range c.opts.Nodes {
		if err := createNode(ctx, client, i, c.opts.Zones[i%len(c.opts.Zones)]); err != nil {
			return err
		}
		if err := ensureKubeletAddress(ctx, client, NodeName(i)); err != nil {
			return err
		}
	}
	began := time.Now()
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for i := range c.opts.Nodes {
			n, err := client.CoreV1().Nodes().Get(ctx, NodeName(i), metav1.GetOptions{})
			if err != nil || !nodeSchedulable(n) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("nodes not ready: %w", err)
	}
	c.opts.Log.Info("nodes ready", "nodes", c.opts.Nodes, "zones", c.opts.Zones, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

func createNode(ctx context.Context, client kubernetes.Interface, i int, zone string) error {
	name := NodeName(i)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{nodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
				ZoneLabel:                zone,
			},
		},
	}
	created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	// Realistic capacity and a distinct address per node, written before
	// kwok initialises the node (it keeps what it finds).
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("128Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
	created.Status.Capacity = capacity
	created.Status.Allocatable = capacity
	created.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.1.%d", i+1)},
		{Type: corev1.NodeHostName, Address: name},
	}
	if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("set node %s status: %w", name, err)
	}
	return nil
}

// ensureKubeletAddress gives node the address the API server reaches its
// kubelet endpoint (kwok) at, unless it has it: also on nodes registered
// before, and again when kwok changed the node between our read and write.
// kwok's status patches merge addresses by type and leave this one.
func ensureKubeletAddress(ctx context.Context, client kubernetes.Interface, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, a := range n.Status.Addresses {
			if a.Type == kubeletAddressType {
				return nil
			}
		}
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: kubeletAddressType, Address: "127.0.0.1"})
		_, err = client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("node %s kubelet address: %w", name, err)
	}
	return nil
}

func nodeSchedulable(n *corev1.Node) bool {
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return false
		}
	}
	return ready
}
