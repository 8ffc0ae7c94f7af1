package gateway

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"berth.dev/berth/internal/analysis"
)

type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	reloads   *prometheus.CounterVec
	ejections prometheus.Counter
	handoffs  prometheus.Counter
	mu        sync.Mutex
	versions  map[[2]string]*versionMetrics
}

// versionMetrics caches the series of one route and version, so the
// request path does no label hashing for the histogram and little for the
// counter.
type versionMetrics struct {
	route, version string
	requests       *prometheus.CounterVec
	latency        prometheus.Observer
	codes          sync.Map // int -> prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_gateway_requests_total",
			Help: "Requests handled by the gateway, by route, version (stable, gray, none) and status code.",
		}, []string{"route", "version", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_gateway_request_duration_seconds",
			Help:    "Time from request received to response written, by route and version.",
			Buckets: analysis.LatencyBuckets(),
		}, []string{"route", "version"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_gateway_config_reloads_total",
			Help: "Configurations offered to the gateway, by result (applied, unchanged, rejected).",
		}, []string{"result"}),
		ejections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_gateway_upstream_ejections_total",
			Help: "Upstream endpoints ejected by passive health checking.",
		}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "berth_gateway_http1_handoffs_total",
			Help: "Client connections the fast HTTP/1.1 front end handed to net/http (HTTP/2, chunked or Upgrade requests, unusual heads).",
		}),
		versions: map[[2]string]*versionMetrics{},
	}
	reg.MustRegister(m.requests, m.duration, m.reloads, m.ejections, m.handoffs)
	return m
}

func (m *metrics) version(route, version string) *versionMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{route, version}
	if v, ok := m.versions[k]; ok {
		return v
	}
	v := &versionMetrics{route: route, version: version, requests: m.requests,
		latency: m.duration.WithLabelValues(route, version)}
	m.versions[k] = v
	return v
}

func (v *versionMetrics) observe(code int, seconds float64) {
	v.latency.Observe(seconds)
	if c, ok := v.codes.Load(code); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c := v.requests.WithLabelValues(v.route, v.version, strconv.Itoa(code))
	v.codes.Store(code, c)
	c.Inc()
}
