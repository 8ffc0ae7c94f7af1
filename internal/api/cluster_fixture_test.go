package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
)

// webOnCluster registers c as cluster c1 and creates, as admin, tenant
// bank, project pay, its environment prod in namespace ns and the
// application web.
func (h *harness) webOnCluster(c *clustertest.Cluster, admin, ns string) {
	h.must(http.StatusCreated, admin, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": kubeconfigFor(c.RESTConfig().Host)})
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "bank"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects", map[string]string{"name": "pay"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/pay/environments", map[string]string{"name": "prod", "cluster": "c1", "namespace": ns})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/pay/applications", map[string]string{"name": "web"})
}

// runWebPods creates one pod of the application web per version given
// (web-1, web-2, …; "" leaves the version label off) in ns, and waits
// until every one runs.
func runWebPods(t *testing.T, c *clustertest.Cluster, ns string, versions ...string) {
	t.Helper()
	ctx := t.Context()
	for i, v := range versions {
		labels, tag := map[string]string{kube.LabelApp: "web"}, "1"
		if v != "" {
			labels[kube.LabelVersion], tag = v, v
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i+1), Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/web:" + tag}}}}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		running := 0
		for _, p := range list.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return err == nil && running == len(versions), nil
	})
	if err != nil {
		t.Fatalf("%d pods of web never all ran: %v", len(versions), err)
	}
}
