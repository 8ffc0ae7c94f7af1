package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"berth.dev/berth/internal/terminal"
)

// Terminal gives terminal sessions the registered clusters' pods and exec.
type Terminal struct{ Registry *Registry }

var _ terminal.Cluster = Terminal{}

// Pods implements terminal.Cluster: the pods Berth runs for app in
// namespace, by its label.
func (t Terminal) Pods(ctx context.Context, cluster, namespace, app string) ([]terminal.Pod, error) {
	pods, err := t.Registry.appPods(ctx, cluster, namespace, app)
	if err != nil {
		return nil, err
	}
	out := make([]terminal.Pod, 0, len(pods))
	for _, p := range pods {
		out = append(out, terminal.Pod{Name: p.Name, Containers: containerNames(p),
			Running: p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil})
	}
	return out, nil
}

// appPods lists, from the API server of the ready cluster, the pods Berth
// runs for app in namespace, by its label (at most 500).
func (r *Registry) appPods(ctx context.Context, cluster, namespace, app string) ([]corev1.Pod, error) {
	c, err := r.Ready(cluster)
	if err != nil {
		return nil, err
	}
	list, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(labels.Set{LabelApp: app}).String(), Limit: 500})
	if err != nil {
		return nil, fmt.Errorf("pods of %s/%s: %w", namespace, app, err)
	}
	return list.Items, nil
}

func containerNames(p corev1.Pod) []string {
	names := make([]string, 0, len(p.Spec.Containers))
	for _, ctr := range p.Spec.Containers {
		names = append(names, ctr.Name)
	}
	return names
}

// Exec implements terminal.Cluster.
func (t Terminal) Exec(ctx context.Context, cluster string, s terminal.ExecSpec) (int, error) {
	c, err := t.Registry.Ready(cluster)
	if err != nil {
		return -1, err
	}
	return c.Exec(ctx, ExecRequest{Namespace: s.Namespace, Pod: s.Pod, Container: s.Container, Argv: s.Argv,
		Stdin: s.Stdin, Stdout: s.Stdout, Stderr: s.Stderr, TTY: s.TTY})
}
