package grayrelease_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/promtest"
)

// TestDashboardShowsGrayBesideStable proves `berth metrics` end to end
// with real processes: a real Prometheus scrapes the Berth gateway's and
// the server's /metrics; a gray plan sends half of svc's requests to v2,
// which answers every one 503 while v1 answers 200; the dashboard read
// through the CLI names v1 as stable and v2 as gray, shows v2's error
// ratio at 100 % and v1's near 0, both versions' requests and latencies,
// and each version's two ready pods from the local cluster. A range of
// too many points is refused naming step.
func TestDashboardShowsGrayBesideStable(t *testing.T) {
	am := promtest.StartAlertmanager(t)
	gatewayAdmin := "127.0.0.1:" + itoa(freePort(t, "127.0.0.1"))
	serverAddr := "127.0.0.1:" + itoa(freePort(t, "127.0.0.1"))
	pr := promtest.StartPrometheus(t, []string{gatewayAdmin, serverAddr}, am)
	s, _ := newStackWith(t, stackOptions{gatewayAdmin: gatewayAdmin, serverListen: serverAddr, serverArgs: []string{
		"--prometheus-url", pr.URL, "--prometheus-rules", pr.RulesDir, "--alertmanager-url", am.URL,
		"--alertmanager-config", am.Config, "--promtool", promtest.PromtoolBin}})
	s.cli(adminPassword+"\n", "login", "--server", strings.TrimSuffix(s.api, "/api/v1"), "--username", "admin", "--password-stdin")
	s.cli("", "context", "set", "-t", "bank", "-p", "pay")
	s.cli("", "gray", "start", "svc", "v2", "-e", "dev", "--step", "weight=50")
	s.eventually("gray serves half", map[string]string{}, "v2")

	s.load(t, 1, map[string]string{"X-Status-v2": "503"})

	if out, err := s.try("metrics", "svc", "-e", "dev", "--since", "1h", "--step", "1s"); err == nil || !strings.Contains(out, "step:") {
		t.Errorf("metrics over an hour at 1s: %v, want a refusal naming step:\n%s", err, out)
	}

	type latest map[string]float64 // panel → latest value
	var got map[string]latest      // "track version" → panel → value
	ok := func() bool {
		// v1 answers 200, but a request the loaded machine makes the gateway
		// time out (504) is a stable error too: stable is near 0, not 0.
		return got["stable v1"]["errorRatio"] < 0.1 && got["gray v2"]["errorRatio"] == 1 &&
			got["stable v1"]["requests"] > 0 && got["gray v2"]["requests"] > 0 &&
			got["stable v1"]["p99"] > 0 && got["gray v2"]["p50"] > 0 &&
			got[" v1"]["podsReady"] == 2 && got[" v2"]["podsReady"] == 2 // pods by version name; the plan names their tracks
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		var d struct {
			Stable, Gray string
			Panels       []struct {
				Name   string
				Series []struct {
					Version, Track string
					Points         []struct{ V float64 }
				}
			}
		}
		if err := json.Unmarshal([]byte(s.cli("", "metrics", "svc", "-e", "dev", "--since", "2m", "--step", "5s", "-o", "json")), &d); err != nil {
			t.Fatal(err)
		}
		got = map[string]latest{}
		for _, p := range d.Panels {
			for _, se := range p.Series {
				key := se.Track + " " + se.Version
				if p.Name == "podsReady" || p.Name == "restarts" {
					key = " " + se.Version
				}
				if got[key] == nil {
					got[key] = latest{}
				}
				if n := len(se.Points); n > 0 {
					got[key][p.Name] = se.Points[n-1].V
				}
			}
		}
		if d.Stable == "v1" && d.Gray == "v2" && ok() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after two minutes the dashboard (stable %q, gray %q) is %v", d.Stable, d.Gray, got)
		}
	}
	out := s.cli("", "metrics", "svc", "-e", "dev", "--since", "2m")
	for _, want := range []string{"VERSION  TRACK   REQ/S", "v1       stable", "v2       gray", "100.00%"} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics table lacks %q:\n%s", want, out)
		}
	}
}
