package kube

import (
	"context"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"berth.dev/berth/internal/podlog"
)

// PodLogs gives log searches the registered clusters' pods and pods/log.
type PodLogs struct{ Registry *Registry }

var _ podlog.Source = PodLogs{}

// Pods implements podlog.Source: the pods Berth runs for app in
// namespace, with their version label.
func (s PodLogs) Pods(ctx context.Context, cluster, namespace, app string) ([]podlog.Pod, error) {
	pods, err := s.Registry.appPods(ctx, cluster, namespace, app)
	if err != nil {
		return nil, err
	}
	out := make([]podlog.Pod, 0, len(pods))
	for _, p := range pods {
		out = append(out, podlog.Pod{Name: p.Name, Version: p.Labels[LabelVersion], Containers: containerNames(p)})
	}
	return out, nil
}

// Stream implements podlog.Source with pods/log, each line with its time.
func (s PodLogs) Stream(ctx context.Context, cluster, namespace, pod, container string, o podlog.StreamOptions) (io.ReadCloser, error) {
	c, err := s.Registry.Ready(cluster)
	if err != nil {
		return nil, err
	}
	opts := &corev1.PodLogOptions{Container: container, Follow: o.Follow, Timestamps: true}
	if !o.Since.IsZero() {
		opts.SinceTime = &metav1.Time{Time: o.Since}
	}
	if o.Tail > 0 {
		opts.TailLines = ptr.To(int64(o.Tail))
	}
	if o.MaxBytes > 0 {
		opts.LimitBytes = ptr.To(o.MaxBytes)
	}
	return c.Client.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
}
