package grayrelease_test

import (
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/promtest"
)

// TestAlertFiresToAGroupRobotUntilSilenced proves alerting end to end
// with real processes: a real Prometheus scrapes the Berth gateway's
// metrics and loads the rules Berth writes; requests through the gateway
// to a version answering 503 make an error-rate rule fire; Alertmanager,
// configured by Berth, posts to Berth's hook; Berth queues a WeCom
// markdown message that a loopback robot receives. A silence created
// through Berth stops that rule's messages while another rule's keep
// coming (the barrier that shows time has passed).
func TestAlertFiresToAGroupRobotUntilSilenced(t *testing.T) {
	am := promtest.StartAlertmanager(t)
	gatewayAdmin := "127.0.0.1:" + itoa(freePort(t, "127.0.0.1"))
	pr := promtest.StartPrometheus(t, []string{gatewayAdmin}, am)
	s, _ := newStackWith(t, stackOptions{gatewayAdmin: gatewayAdmin, serverArgs: []string{
		"--prometheus-url", pr.URL, "--prometheus-rules", pr.RulesDir, "--alertmanager-url", am.URL,
		"--alertmanager-config", am.Config, "--promtool", promtest.PromtoolBin, "--alert-timing", "1s,1s,2s"}})
	robot := startRobot(t)

	s.cli(adminPassword+"\n", "login", "--server", strings.TrimSuffix(s.api, "/api/v1"), "--username", "admin", "--password-stdin")
	s.cli("", "context", "set", "-t", "bank", "-p", "pay")
	s.cli("", "alert", "receiver", "set", "ops", "--kind", "wecom", "--url", robot.url+"/cgi-bin/webhook/send?key=robot-key")
	if out := s.cli("", "alert", "receiver", "list"); strings.Contains(out, "robot-key") || !strings.Contains(out, "wecom") {
		t.Errorf("receiver list shows the robot's key, or not the receiver:\n%s", out)
	}
	// Bad input is refused naming the field, and nothing is saved.
	for _, bad := range []struct {
		args  []string
		field string
	}{
		{[]string{"--template", "error-rate", "--app", "svc", "--threshold", "10"}, "threshold"},
		{[]string{"--expr", "sum(rate(berth_gateway_requests_total[1m])"}, "expr"},
	} {
		out, err := s.try(append([]string{"alert", "rule", "set", "bad", "-e", "dev"}, bad.args...)...)
		if err == nil || !strings.Contains(out, bad.field+":") {
			t.Errorf("alert rule set %v: %v, want a refusal naming %s:\n%s", bad.args, err, bad.field, out)
		}
	}
	s.cli("", "alert", "rule", "set", "svc-errors", "-e", "dev", "--app", "svc", "--template", "error-rate", "--threshold", "10%",
		"--window", "1m", "--severity", "critical")
	s.cli("", "alert", "rule", "set", "heartbeat", "-e", "dev", "--expr", "vector(1)", "--severity", "info")
	if out := s.cli("", "alert", "rule", "list"); strings.Contains(out, "bad") || !strings.Contains(out, "error-rate > 10%") {
		t.Errorf("rule list:\n%s", out)
	}

	// Traffic through the gateway to a version answering 503.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			_, _ = s.version(client, map[string]string{"X-Status": "503"})
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })

	fired := robot.waitFor(t, 3*time.Minute, func(ms []string) bool { return count(ms, "svc-errors") >= 2 })
	msg := fired[indexOf(fired, "svc-errors")]
	for _, want := range []string{"### [FIRING:1] svc-errors svc dev", "svc in dev: error rate", "above 10%", "critical, bank/pay"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the robot's message lacks %q:\n%s", want, msg)
		}
	}
	if out := s.cli("", "alert", "list"); !strings.Contains(out, "svc-errors") || !strings.Contains(out, "active") {
		t.Errorf("alert list while firing:\n%s", out)
	}

	// Berth keeps what fired: the history shows svc-errors firing; an
	// acknowledgement without a reason is refused naming it; one with a
	// reason is shown with who gave it.
	var history []historyEvent
	if err := json.Unmarshal([]byte(s.cli("", "alert", "list", "--history", "-o", "json")), &history); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(history, func(e historyEvent) bool { return e.Name == "svc-errors" })
	if i < 0 || history[i].Status != "firing" || history[i].Ack != nil {
		t.Fatalf("alert history while firing: %+v, want svc-errors firing, unacknowledged", history)
	}
	if out, err := s.try("alert", "ack", history[i].ID); err == nil || !strings.Contains(out, "reason:") {
		t.Errorf("alert ack without a reason: %v, want a refusal naming reason:\n%s", err, out)
	}
	s.cli("", "alert", "ack", history[i].ID, "--reason", "rolling svc back")
	if out := s.cli("", "alert", "list", "--history"); !strings.Contains(out, "admin") || !strings.Contains(out, "rolling svc back") {
		t.Errorf("alert history after the acknowledgement:\n%s", out)
	}

	// An SLO over the same traffic: refused naming the field when bad; its
	// page alert becomes active in Prometheus from the real gateway's
	// metrics; its budget is overspent by what the error ratio says.
	for _, bad := range []struct {
		args  []string
		field string
	}{
		{[]string{"--app", "svc", "--objective", "100"}, "objective"},
		{[]string{"--app", "nobody", "--objective", "99.9"}, "application"},
		{[]string{"--app", "svc", "--objective", "99", "--kind", "latency", "--threshold", "300ms"}, "threshold"},
	} {
		out, err := s.try(append([]string{"slo", "set", "bad", "-e", "dev"}, bad.args...)...)
		if err == nil || !strings.Contains(out, bad.field+":") {
			t.Errorf("slo set %v: %v, want a refusal naming %s:\n%s", bad.args, err, bad.field, out)
		}
	}
	s.cli("", "slo", "set", "svc-avail", "-e", "dev", "--app", "svc", "--objective", "99.9")
	if out := s.cli("", "slo", "list"); strings.Contains(out, "bad") || !strings.Contains(out, "99.9% available") {
		t.Errorf("slo list:\n%s", out)
	}
	deadline := time.Now().Add(time.Minute)
	for !paging(t, pr.URL, "svc-avail-burn-page") {
		if time.Now().After(deadline) {
			t.Fatal("the SLO's page alert never became active in Prometheus")
		}
		time.Sleep(500 * time.Millisecond)
	}
	var budget struct {
		ErrorRatio *float64 `json:"errorRatio"`
		Remaining  *float64 `json:"remaining"`
	}
	if err := json.Unmarshal([]byte(s.cli("", "slo", "show", "svc-avail", "-o", "json")), &budget); err != nil {
		t.Fatal(err)
	}
	// 99.9 % allows 0.001 of errors: what is left is 1 - ratio/0.001.
	if budget.ErrorRatio == nil || *budget.ErrorRatio <= 0.0144 || budget.Remaining == nil || math.Abs(*budget.Remaining-(1-*budget.ErrorRatio/0.001)) > 1e-6 {
		t.Errorf("budget %+v, want an error ratio above the page's 1.44 %% and 1 - ratio/0.001 left", budget)
	}

	// Silence the rule: its messages stop, the heartbeat's go on.
	created := s.cli("", "alert", "silence", "create", "--rule", "svc-errors", "--duration", "1h", "--comment", "fixing svc")
	id := strings.Fields(strings.TrimPrefix(created, "Silence "))[0]
	deadline = time.Now().Add(time.Minute)
	for out := ""; !strings.Contains(out, "suppressed"); out = s.cli("", "alert", "list") {
		if time.Now().After(deadline) {
			t.Fatalf("svc-errors never showed as suppressed:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Two heartbeats later every message Alertmanager sent before the
	// silence took hold has been delivered (the outbox keeps their order).
	hb := count(robot.messages(), "heartbeat")
	robot.waitFor(t, time.Minute, func(ms []string) bool { return count(ms, "heartbeat") >= hb+2 })
	before := count(robot.messages(), "svc-errors")
	hb = count(robot.messages(), "heartbeat")
	after := robot.waitFor(t, time.Minute, func(ms []string) bool { return count(ms, "heartbeat") >= hb+3 })
	if n := count(after, "svc-errors"); n != before {
		t.Errorf("svc-errors messages went from %d to %d while silenced:\n%s", before, n, strings.Join(after, "\n---\n"))
	}
	if out := s.cli("", "alert", "silence", "list"); !strings.Contains(out, id) || !strings.Contains(out, "rule=svc-errors") {
		t.Errorf("silence list:\n%s", out)
	}
	s.cli("", "alert", "silence", "expire", id)
	if out := s.cli("", "alert", "silence", "list"); !strings.Contains(out, "expired") {
		t.Errorf("silence list after expiry:\n%s", out)
	}
	audit := s.cli("", "audit", "list", "--tenant", "bank")
	for _, want := range []string{"alert-receiver.create", "alert-rule.create", "alert-silence.create", "alert-silence.expire", "slo.create"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit trail lacks %s:\n%s", want, audit)
		}
	}
}

// paging reports whether Prometheus at url holds alert name, pending or
// firing.
func paging(t *testing.T, url, name string) bool {
	t.Helper()
	resp, err := http.Get(url + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts.Data.Alerts {
		if a.Labels["alertname"] == name && (a.State == "pending" || a.State == "firing") {
			return true
		}
	}
	return false
}

// robot is a loopback group-chat robot in WeCom's format: it records the
// markdown of every message and answers errcode 0.
type robot struct {
	url string
	mu  sync.Mutex
	got []string
}

func startRobot(t *testing.T) *robot {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &robot{url: "http://" + ln.Addr().String()}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var m struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if req.URL.Query().Get("key") != "robot-key" || json.Unmarshal(body, &m) != nil || m.MsgType != "markdown" {
			io.WriteString(w, `{"errcode":40008,"errmsg":"invalid message"}`)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, m.Markdown.Content)
		r.mu.Unlock()
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *robot) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// waitFor polls the messages until ok holds (at most within).
func (r *robot) waitFor(t *testing.T, within time.Duration, ok func([]string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ms := r.messages()
		if ok(ms) {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("the robot never got the messages awaited; it got %d:\n%s", len(ms), strings.Join(ms, "\n---\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// count is how many messages are about rule (in their title).
func count(ms []string, rule string) int {
	n := 0
	for _, m := range ms {
		if strings.Contains(firstLine(m), " "+rule) {
			n++
		}
	}
	return n
}

func indexOf(ms []string, rule string) int {
	for i, m := range ms {
		if strings.Contains(firstLine(m), " "+rule) {
			return i
		}
	}
	return -1
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func itoa(n int) string { return strconv.Itoa(n) }

// historyEvent is what the test reads of an alert of the history.
type historyEvent struct {
	ID, Name, Status string
	Ack              *struct{ By, Reason string }
}
