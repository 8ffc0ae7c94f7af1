package grayrelease_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/promtest"
)

// analysisStack starts the stack with a real Prometheus scraping the
// gateway's metrics, configured as Berth's Prometheus (with the
// Alertmanager the configuration asks for beside it).
func analysisStack(t *testing.T) *stack {
	am := promtest.StartAlertmanager(t)
	gatewayAdmin := "127.0.0.1:" + itoa(freePort(t, "127.0.0.1"))
	pr := promtest.StartPrometheus(t, []string{gatewayAdmin}, am)
	s, _ := newStackWith(t, stackOptions{gatewayAdmin: gatewayAdmin, serverArgs: []string{
		"--prometheus-url", pr.URL, "--prometheus-rules", pr.RulesDir, "--alertmanager-url", am.URL,
		"--alertmanager-config", am.Config, "--promtool", promtest.PromtoolBin}})
	return s
}

// load sends requests with headers through the gateway to s's application
// from workers goroutines until the test ends.
func (s *stack) load(t *testing.T, workers int, headers map[string]string) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				_, _ = s.version(client, headers)
			}
		}()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
}

type checkRun struct {
	Verdict string
	Checks  []struct {
		Name, Verdict, Message string
		Queries                []struct{ Name, Expr string }
		Samples                []struct {
			Values  []*float64
			Outcome string
		}
	}
}

// TestGrayPlanAbortsItselfOnAFailedMetricCheck: a canary step at 50 %
// with a check that gray's error rate stays within stable's + 1 %; the
// gray version answers every request 503 and the stable one never does,
// so the first sample sees gray at 100 % and stable at 0 % — the plan
// aborts by itself, everyone is back on v1, and the plan and the audit
// trail hold the query and the numbers. Bad checks are refused first,
// naming the field, and nothing is saved.
func TestGrayPlanAbortsItselfOnAFailedMetricCheck(t *testing.T) {
	s := analysisStack(t)
	plans := "/tenants/bank/projects/pay/environments/dev/grayplans"
	for _, bad := range []struct {
		check map[string]any
		field string
	}{
		{map[string]any{"name": "e", "template": "error-rate-over-stable", "threshold": "1"}, "steps[0].checks[0].threshold"},
		{map[string]any{"name": "q", "query": "sum(rate(berth_gateway_requests_total[1m])", "threshold": "<= 1"}, "steps[0].checks[0].query"},
		{map[string]any{"name": "l", "template": "latency-p99", "threshold": "300ms", "noData": "maybe"}, "steps[0].checks[0].noData"},
	} {
		code, body := s.call("POST", plans, map[string]any{"application": "svc", "grayVersion": "v2",
			"steps": []map[string]any{{"weight": 50, "checks": []any{bad.check}}}}, s.token)
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity || !strings.Contains(string(body), bad.field) {
			t.Errorf("check %v: %d %s, want a refusal naming %s", bad.check, code, body, bad.field)
		}
	}
	if code, body := s.call("GET", plans+"/svc", nil, s.token); code != http.StatusNotFound {
		t.Fatalf("a refused plan was saved: %d %s", code, body)
	}

	s.load(t, 2, map[string]string{"X-Status-v2": "503"})
	s.must("POST", plans, map[string]any{"application": "svc", "grayVersion": "v2", "steps": []map[string]any{{"weight": 50,
		"checks": []map[string]any{{"name": "gray-errors", "template": "error-rate-over-stable", "threshold": "1%", "interval": "3s", "samples": 3}}}}},
		http.StatusCreated)

	var p struct {
		Phase, Reason string
		Analysis      *checkRun
	}
	for deadline := time.Now().Add(3 * time.Minute); p.Phase != "Aborted"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the plan never aborted itself: %s, analysis %+v", p.Phase, p.Analysis)
		}
		if err := json.Unmarshal(s.must("GET", plans+"/svc", nil, http.StatusOK), &p); err != nil {
			t.Fatal(err)
		}
	}
	s.eventually("everyone back on v1 after the abort", map[string]string{}, "v1")
	t.Logf("the plan aborted itself: %s", p.Reason)
	if !strings.Contains(p.Reason, "metric analysis failed") || !strings.Contains(p.Reason, "gray=100%, stable=0%") {
		t.Errorf("abort reason %q lacks the failed analysis and its numbers", p.Reason)
	}
	if p.Analysis == nil || p.Analysis.Verdict != "Failed" || len(p.Analysis.Checks) != 1 || len(p.Analysis.Checks[0].Samples) != 1 {
		t.Fatalf("plan analysis %+v, want one failed check after its first sample", p.Analysis)
	}
	c := p.Analysis.Checks[0]
	// Gray answered every request 503: its error rate is exactly 1; stable
	// answered none so: exactly 0.
	if v := c.Samples[0].Values; len(v) != 2 || v[0] == nil || *v[0] != 1 || v[1] == nil || *v[1] != 0 {
		t.Errorf("sample values %v, want gray 1 and stable 0", c.Samples[0].Values)
	}
	if len(c.Queries) != 2 || !strings.Contains(c.Queries[0].Expr, `version="gray",code=~"5.."`) || !strings.Contains(c.Queries[1].Expr, `version="stable"`) {
		t.Errorf("queries %+v", c.Queries)
	}
	var trail struct {
		Items []struct{ Action, Actor, Outcome, Summary string }
	}
	if err := json.Unmarshal(s.must("GET", "/audit?tenant=bank&action=grayplan.&limit=100", nil, http.StatusOK), &trail); err != nil {
		t.Fatal(err)
	}
	var failed, aborted bool
	for _, r := range trail.Items {
		failed = failed || r.Action == "grayplan.analysis" && r.Outcome == "failure" &&
			strings.Contains(r.Summary, "gray=100%, stable=0%") && strings.Contains(r.Summary, "berth_gateway_requests_total")
		aborted = aborted || r.Action == "grayplan.abort" && r.Actor == "system"
	}
	if !failed || !aborted {
		t.Errorf("audit trail lacks the failed analysis with its evidence (%v) or the system's abort (%v): %+v", failed, aborted, trail.Items)
	}
}

// TestReleaseOrderRollsBackEveryServiceOnALatencyCheck: an order releases
// acct v2, then svc v2 with a p99 ≤ 300ms check; svc v2 takes 400ms per
// request, so the check fails and the whole order — acct too, which had
// succeeded — rolls back to v1, with the query and the numbers on the
// item and in the audit trail.
func TestReleaseOrderRollsBackEveryServiceOnALatencyCheck(t *testing.T) {
	s := analysisStack(t)
	pp := "/tenants/bank/projects/pay"
	ports := [2]int{freePort(t, hostIP), freePort(t, hostIP)}
	serveVersion(t, hostIP, ports[0], "acct v1")
	serveVersion(t, hostIP, ports[1], "acct v2")
	s.must("POST", pp+"/applications", map[string]string{"name": "acct"}, http.StatusCreated)
	for i, v := range []string{"v1", "v2"} {
		s.must("POST", pp+"/applications/acct/versions", map[string]any{"name": v, "image": "registry.local/acct:" + v,
			"tier": "small", "orchestration": map[string]any{"replicas": 1, "ports": []map[string]any{{"name": "http", "containerPort": ports[i]}}}}, http.StatusCreated)
	}
	s.must("PUT", pp+"/environments/dev/deployments/acct", map[string]string{"version": "v1"}, http.StatusOK)
	acct := &stack{t: t, api: s.api, token: s.token, gateway: s.gateway, host: "acct." + strings.TrimPrefix(s.host, "svc."), config: s.config}
	acct.eventually("acct v1 serves", map[string]string{}, "acct v1")

	s.load(t, 4, map[string]string{"X-Delay-v2": "400ms"})
	var o struct{ ID, State string }
	if err := json.Unmarshal(s.must("POST", pp+"/releases", map[string]any{"environment": "dev", "title": "acct and svc 2",
		"items": []map[string]any{{"application": "acct", "version": "v2"}, {"application": "svc", "version": "v2", "dependsOn": []string{"acct"},
			"checks": []map[string]any{{"name": "p99", "template": "latency-p99", "threshold": "300ms", "interval": "3s", "samples": 3}}}}},
		http.StatusCreated), &o); err != nil {
		t.Fatal(err)
	}
	s.must("POST", pp+"/releases/"+o.ID+"/start", nil, http.StatusOK)

	var order struct {
		State   string
		Failure struct{ Item, Reason, Message string }
		Items   []struct {
			Application, State string
			Fault              *struct{ Reason, Message string }
			Analysis           *checkRun
		}
	}
	for deadline := time.Now().Add(3 * time.Minute); order.State != "RolledBack"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the order never rolled back: %+v", order)
		}
		if err := json.Unmarshal(s.must("GET", pp+"/releases/"+o.ID, nil, http.StatusOK), &order); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("the order rolled back: %s: %s", order.Failure.Reason, order.Failure.Message)
	if order.Failure.Item != "svc" || order.Failure.Reason != "AnalysisFailed" || !strings.Contains(order.Failure.Message, "histogram_quantile(0.99") {
		t.Errorf("order failure %+v, want svc's failed analysis with its query", order.Failure)
	}
	for _, it := range order.Items {
		if it.State != "RolledBack" {
			t.Errorf("item %s ended %s, want RolledBack", it.Application, it.State)
		}
		if it.Application != "svc" {
			continue
		}
		if it.Analysis == nil || it.Analysis.Verdict != "Failed" || len(it.Analysis.Checks[0].Samples) != 1 {
			t.Fatalf("svc analysis %+v, want failed at its first sample", it.Analysis)
		}
		// Every v2 request takes 400ms: it falls in the gateway's
		// (250ms, 500ms] bucket, so p99 lies in it, above 300ms as long
		// as nearly all of the window's requests went to v2.
		if v := it.Analysis.Checks[0].Samples[0].Values[0]; v == nil || *v <= 0.3 || *v > 0.5 {
			t.Errorf("svc p99 sample %v, want in (0.3, 0.5]", v)
		}
		if it.Fault == nil || !strings.Contains(it.Fault.Message, "p99=") {
			t.Errorf("svc fault %+v lacks the value observed", it.Fault)
		}
	}
	for app, want := range map[string]string{"svc": "v1", "acct": "v1"} {
		var d struct{ Version string }
		if err := json.Unmarshal(s.must("GET", pp+"/environments/dev/deployments/"+app, nil, http.StatusOK), &d); err != nil || d.Version != want {
			t.Errorf("%s deployment after the rollback: %+v %v, want %s", app, d, err, want)
		}
	}
	s.eventually("svc back on v1", map[string]string{}, "v1")
	var trail struct {
		Items []struct{ Action, Summary string }
	}
	if err := json.Unmarshal(s.must("GET", "/audit?tenant=bank&action=release.&limit=100", nil, http.StatusOK), &trail); err != nil {
		t.Fatal(err)
	}
	var evidence bool
	for _, r := range trail.Items {
		evidence = evidence || r.Action == "release.item-failed" && strings.Contains(r.Summary, "AnalysisFailed") &&
			strings.Contains(r.Summary, "berth_gateway_request_duration_seconds_bucket") && strings.Contains(r.Summary, "p99=")
	}
	if !evidence {
		t.Errorf("audit trail lacks svc's failed analysis with its query and numbers: %+v", trail.Items)
	}
}
