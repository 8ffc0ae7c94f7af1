package kube

import (
	"context"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/health"
)

// Event is a recent Kubernetes event about an application's objects (see
// package health).
type Event = health.Event

// Events returns up to limit of the newest events about key's Deployment,
// ReplicaSets and pods, newest first.
func (c *Conn) Events(ctx context.Context, key AppKey, limit int) ([]Event, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	list, err := c.Client.CoreV1().Events(key.Namespace).List(ctx, metav1.ListOptions{Limit: 500})
	if err != nil {
		return nil, err
	}
	out := []Event{}
	for _, e := range list.Items {
		name := e.InvolvedObject.Name
		if name != key.App && !strings.HasPrefix(name, key.App+"-") {
			continue
		}
		last := e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		if last.IsZero() {
			last = e.CreationTimestamp.Time
		}
		count := e.Count
		if count == 0 {
			count = 1
		}
		out = append(out, Event{Type: e.Type, Reason: e.Reason, Object: e.InvolvedObject.Kind + "/" + name,
			Message: e.Message, Count: count, Last: last})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Last.After(out[j].Last) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
