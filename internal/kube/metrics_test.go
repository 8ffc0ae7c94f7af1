package kube_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/localcluster/clustertest"
)

// TestPodCollectorCountsAVersionsPods scrapes the pod metrics of an
// application with two versions on the local cluster: two ready pods of
// v1, one crash-looping pod of v2 that is not ready and restarts.
func TestPodCollectorCountsAVersionsPods(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ctx := t.Context()
	ns := c.Namespace(t)
	reg := c.Registry(t, "c1")
	for _, p := range []struct {
		name, version string
		crash         bool
	}{{"web-a", "v1", false}, {"web-b", "v1", false}, {"web-c", "v2", true}} {
		l := map[string]string{kube.LabelManagedBy: kube.ManagedBy, kube.LabelApp: "web", kube.LabelVersion: p.version,
			kube.LabelTenant: "bank", kube.LabelProject: "pay", kube.LabelEnvironment: "prod"}
		if p.crash {
			l[localcluster.SimulateLabel] = localcluster.SimulateCrashLoop
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Namespace: ns, Labels: l},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/web:" + p.version}}}}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pr := prometheus.NewPedanticRegistry()
	pr.MustRegister(kube.PodCollector{Registry: reg})
	// value reads one series of ns's application by its version (and phase).
	value := func(families []*dto.MetricFamily, name, version, phase string) float64 {
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
			for _, m := range f.GetMetric() {
				got := map[string]string{}
				for _, l := range m.GetLabel() {
					got[l.GetName()] = l.GetValue()
				}
				if got["namespace"] == ns && got["version"] == version && got["cluster"] == "c1" && got["tenant"] == "bank" &&
					got["environment"] == "prod" && got["app"] == "web" && (phase == "" || got["phase"] == phase) {
					return m.GetGauge().GetValue()
				}
			}
		}
		return -1
	}
	var last []*dto.MetricFamily
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		var err error
		if last, err = pr.Gather(); err != nil {
			return false, err
		}
		return value(last, "berth_app_pods", "v1", "Running") == 2 && value(last, "berth_app_pods_ready", "v1", "") == 2 &&
			value(last, "berth_app_pods_ready", "v2", "") == 0 && value(last, "berth_app_container_restarts", "v2", "") >= 1 &&
			value(last, "berth_app_container_restarts", "v1", "") == 0, nil
	})
	if err != nil {
		t.Fatalf("metrics never showed 2 ready v1 pods and a restarting v2 pod: v1 running %v, v1 ready %v, v2 ready %v, v2 restarts %v (%v)",
			value(last, "berth_app_pods", "v1", "Running"), value(last, "berth_app_pods_ready", "v1", ""),
			value(last, "berth_app_pods_ready", "v2", ""), value(last, "berth_app_container_restarts", "v2", ""), err)
	}
}
