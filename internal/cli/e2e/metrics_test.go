package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestMetricsShowPodsAndControllers reads the server's /metrics after a
// deployment: the application's ready pods per version, from the cluster's
// watch, and the deployment controller's queue and reconciles.
func TestMetricsShowPodsAndControllers(t *testing.T) {
	b, _, ns, checkedURL := onClusterAt(t, "bank-pay-metrics", "")
	raw, ok := serverURLs.Load(checkedURL)
	if !ok {
		t.Fatal("no server address behind the checked proxy")
	}
	url := raw.(string)
	b.must("", []string{"app", "deploy", "red-auth", "v1", "--env", "dev"})
	b.eventually(2*time.Minute, []string{"app", "list", "--env", "dev"}, "red-auth", "Running", "2/2")
	ready := regexp.MustCompile(`berth_app_pods_ready\{[^}]*app="red-auth"[^}]*namespace="` + regexp.QuoteMeta(ns) + `"[^}]*version="v1"\} (\d+)`)
	done := regexp.MustCompile(`berth_controller_reconcile_seconds_count\{controller="deployments",result="done"\} (\d+)`)
	depth := regexp.MustCompile(`berth_controller_queue_depth\{controller="deployments"\} \d+`)
	var body string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(data)
		m, d := ready.FindStringSubmatch(body), done.FindStringSubmatch(body)
		if m != nil && m[1] == "2" && d != nil && d[1] != "0" && depth.MatchString(body) {
			if n, _ := strconv.Atoi(d[1]); n > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed 2 ready pods of red-auth v1 and the deployment controller's work:\n%.4000s", body)
		}
	}
}
