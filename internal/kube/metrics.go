package kube

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// PodCollector exports, at each scrape, the pods Berth runs as its
// registered clusters' watches hold them (no API request), per application
// and version: how many are in each phase, how many are ready, and how
// often their containers restarted. Alerts on "not ready" and "restarts"
// read these.
type PodCollector struct{ Registry *Registry }

var podLabels = []string{"cluster", "namespace", "tenant", "project", "environment", "app", "version"}

var (
	podsDesc = prometheus.NewDesc("berth_app_pods", "Pods of an application version, by phase.",
		append(append([]string{}, podLabels...), "phase"), nil)
	readyDesc = prometheus.NewDesc("berth_app_pods_ready", "Pods of an application version whose Ready condition is true.",
		podLabels, nil)
	restartsDesc = prometheus.NewDesc("berth_app_container_restarts", "Container restarts of an application version's current pods.",
		podLabels, nil)
)

// Describe implements prometheus.Collector.
func (c PodCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- podsDesc
	ch <- readyDesc
	ch <- restartsDesc
}

type podGroup struct {
	phases          map[corev1.PodPhase]int
	ready, restarts int
}

// Collect implements prometheus.Collector.
func (c PodCollector) Collect(ch chan<- prometheus.Metric) {
	for _, conn := range c.Registry.all() {
		if conn.Watcher == nil || conn.Ready() != nil {
			continue
		}
		pods, err := conn.Watcher.pods.List(labels.Everything())
		if err != nil {
			continue
		}
		groups := map[[7]string]*podGroup{}
		for _, p := range pods {
			l := p.Labels
			k := [7]string{conn.Name, p.Namespace, l[LabelTenant], l[LabelProject], l[LabelEnvironment], l[LabelApp], l[LabelVersion]}
			g := groups[k]
			if g == nil {
				g = &podGroup{phases: map[corev1.PodPhase]int{}}
				groups[k] = g
			}
			g.phases[p.Status.Phase]++
			if podReady(p) {
				g.ready++
			}
			for _, s := range p.Status.ContainerStatuses {
				g.restarts += int(s.RestartCount)
			}
		}
		for k, g := range groups {
			values := k[:]
			for phase, n := range g.phases {
				ch <- prometheus.MustNewConstMetric(podsDesc, prometheus.GaugeValue, float64(n), append(append([]string{}, values...), string(phase))...)
			}
			ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, float64(g.ready), values...)
			ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.GaugeValue, float64(g.restarts), values...)
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// all returns the registered connections, by name.
func (r *Registry) all() []*Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.conns))
	for n := range r.conns {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*Conn, len(names))
	for i, n := range names {
		out[i] = r.conns[n]
	}
	return out
}
