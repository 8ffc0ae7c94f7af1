package controller

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics measures the controllers for /metrics: how many keys wait in
// each work queue, and how long reconciles take and how they end. Give it
// to a controller with Measure before Run; a nil *Metrics measures nothing.
type Metrics struct {
	reconciles *prometheus.HistogramVec

	mu     sync.Mutex
	queues map[string]func() int
}

var depthDesc = prometheus.NewDesc("berth_controller_queue_depth", "Keys waiting in a controller's work queue.", []string{"controller"}, nil)

// NewMetrics returns the controllers' metrics, registered with nothing yet.
func NewMetrics() *Metrics {
	return &Metrics{
		reconciles: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_controller_reconcile_seconds",
			Help:    "How long one reconcile took, by controller and result (done, requeued, error).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"controller", "result"}),
		queues: map[string]func() int{},
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- depthDesc
	m.reconciles.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	names := make([]string, 0, len(m.queues))
	for n := range m.queues {
		names = append(names, n)
	}
	sort.Strings(names)
	lens := make([]func() int, len(names))
	for i, n := range names {
		lens[i] = m.queues[n]
	}
	m.mu.Unlock()
	for i, n := range names {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(lens[i]()), n)
	}
	m.reconciles.Collect(ch)
}

// measure returns reconcile timed and counted under name, and has the
// depth of q reported.
func measure[K comparable](m *Metrics, name string, q interface{ Len() int },
	reconcile func(context.Context, K) (time.Duration, error)) func(context.Context, K) (time.Duration, error) {
	if m == nil {
		return reconcile
	}
	m.mu.Lock()
	m.queues[name] = q.Len
	m.mu.Unlock()
	return func(ctx context.Context, k K) (time.Duration, error) {
		start := time.Now()
		retry, err := reconcile(ctx, k)
		result := "done"
		switch {
		case err != nil:
			result = "error"
		case retry > 0:
			result = "requeued"
		}
		m.reconciles.WithLabelValues(name, result).Observe(time.Since(start).Seconds())
		return retry, err
	}
}
