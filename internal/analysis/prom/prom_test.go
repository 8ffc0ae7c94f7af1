package prom_test

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/analysis/prom"
	"berth.dev/berth/internal/promtest"
)

// series serves the gateway's metrics for the route local/ns1/svc#0 as
// counters growing linearly with time, so every rate Prometheus computes
// from them is known by hand:
//
//	gray:   10 req/s, 0.2/s of them 500 (2 %); durations: half under 100ms,
//	        90 % under 250ms, all under 500ms
//	stable: 20 req/s, 0.1/s of them 500 (0.5 %); all under 100ms
//
// Every series is computed at the same instant of one scrape, so ratios
// of them (error rates, quantiles) do not depend on when the scrape ran.
func series(t *testing.T) string {
	t.Helper()
	base := time.Now().Add(-time.Hour)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := time.Since(base).Seconds()
		var b strings.Builder
		b.WriteString("# TYPE berth_gateway_requests_total counter\n")
		for _, c := range []struct {
			version, code string
			rate          float64
		}{{"gray", "200", 9.8}, {"gray", "500", 0.2}, {"stable", "200", 19.9}, {"stable", "500", 0.1}} {
			fmt.Fprintf(&b, "berth_gateway_requests_total{route=\"local/ns1/svc#0\",version=%q,code=%q} %s\n", c.version, c.code, num(c.rate*s))
		}
		b.WriteString("# TYPE berth_gateway_request_duration_seconds histogram\n")
		for _, h := range []struct {
			version string
			le      []string
			rate    []float64
		}{
			{"gray", []string{"0.1", "0.25", "0.5", "+Inf"}, []float64{5, 9, 10, 10}},
			{"stable", []string{"0.1", "0.25", "0.5", "+Inf"}, []float64{20, 20, 20, 20}},
		} {
			for i, le := range h.le {
				fmt.Fprintf(&b, "berth_gateway_request_duration_seconds_bucket{route=\"local/ns1/svc#0\",version=%q,le=%q} %s\n", h.version, le, num(h.rate[i]*s))
			}
			fmt.Fprintf(&b, "berth_gateway_request_duration_seconds_count{route=\"local/ns1/svc#0\",version=%q} %s\n", h.version, num(h.rate[3]*s))
			fmt.Fprintf(&b, "berth_gateway_request_duration_seconds_sum{route=\"local/ns1/svc#0\",version=%q} %s\n", h.version, num(0.1*h.rate[3]*s))
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, b.String())
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// run evaluates checks on subject until the run ends (a minute at most).
func run(t *testing.T, a analysis.Analyzer, checks []analysis.Check, subject analysis.Subject) *analysis.Run {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for { // Prometheus scrapes the series: windows from now on have data
		if ans, ok := a.Query(`sum(berth_gateway_requests_total)`, time.Now().Truncate(time.Second)); ok && !ans.NoData && ans.Err == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Prometheus never scraped the series")
		}
		time.Sleep(100 * time.Millisecond)
	}
	r := analysis.Start(checks, subject, time.Now())
	for r.Verdict == analysis.Running {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not end: %+v", r)
		}
		_, wait := r.Advance(checks, a, time.Now())
		time.Sleep(min(wait, 100*time.Millisecond))
	}
	return r
}

// TestChecksAgainstARealPrometheus evaluates each template and a custom
// query against a real Prometheus scraping known series, and checks the
// values it recorded as evidence against the numbers computed by hand
// above, and the verdicts against the thresholds.
func TestChecksAgainstARealPrometheus(t *testing.T) {
	p := promtest.StartPrometheus(t, []string{series(t)}, nil)
	a, err := prom.New(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	gray := analysis.Subject{Cluster: "local", Namespace: "ns1", Application: "svc", Version: "gray"}
	every := func(c analysis.Check) analysis.Check { c.Interval, c.Samples = "3s", 2; return c }
	checks := []analysis.Check{
		every(analysis.Check{Name: "over-stable-tight", Template: analysis.ErrorRateOverStable, Threshold: "1%"}),
		every(analysis.Check{Name: "over-stable-loose", Template: analysis.ErrorRateOverStable, Threshold: "2%"}),
		every(analysis.Check{Name: "errors", Template: analysis.ErrorRate, Threshold: "2.5%"}),
		every(analysis.Check{Name: "p99-tight", Template: analysis.LatencyP99, Threshold: "300ms"}),
		every(analysis.Check{Name: "p99-loose", Template: analysis.LatencyP99, Threshold: "500ms"}),
		every(analysis.Check{Name: "throughput", Query: `sum(rate(berth_gateway_requests_total{version="gray"}[3s]))`, Threshold: "> 5"}),
	}
	want := map[string]struct {
		verdict analysis.Verdict
		values  []float64 // the first sample's, by hand
		tol     float64
	}{
		"over-stable-tight": {analysis.Failed, []float64{0.02, 0.005}, 1e-6},
		"over-stable-loose": {analysis.Passed, []float64{0.02, 0.005}, 1e-6},
		"errors":            {analysis.Passed, []float64{0.02}, 1e-6},
		"p99-tight":         {analysis.Failed, []float64{0.475}, 1e-6},
		"p99-loose":         {analysis.Passed, []float64{0.475}, 1e-6},
		"throughput":        {analysis.Passed, []float64{10}, 0.2}, // a rate of one counter: scrape timing shows
	}
	for _, c := range checks {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			r := run(t, a, []analysis.Check{c}, gray) // a run ends at its first failed check: one check each
			w := want[c.Name]
			cr := r.Checks[0]
			if cr.Verdict != w.verdict || r.Verdict != w.verdict {
				t.Errorf("%s (%s), run %s; want %s", cr.Verdict, cr.Message, r.Verdict, w.verdict)
			}
			if len(cr.Samples) == 0 {
				t.Fatalf("no sample recorded")
			}
			s := cr.Samples[0]
			for i, v := range w.values {
				if s.Values[i] == nil || math.Abs(*s.Values[i]-v) > w.tol {
					t.Errorf("%s = %v, want %v (by hand); sample %+v", cr.Queries[i].Name, deref(s.Values[i]), v, s)
				}
			}
			if w.verdict == analysis.Passed && len(cr.Samples) != c.Samples {
				t.Errorf("passed after %d samples, want all %d", len(cr.Samples), c.Samples)
			}
			if w.verdict == analysis.Failed && len(cr.Samples) != 1 {
				t.Errorf("failed after %d samples, want at the first (failureLimit 0)", len(cr.Samples))
			}
		})
	}
	t.Run("evidence", func(t *testing.T) {
		t.Parallel()
		r := run(t, a, checks[:1], gray)
		failed := r.Evidence()
		for _, want := range []string{"check over-stable-tight failed", "gray=2%, stable=0.5%", "gray error rate <= stable's + 1%",
			`route=~"local/ns1/svc#[0-9]+",version="stable"`} {
			if !strings.Contains(failed, want) {
				t.Errorf("evidence lacks %q:\n%s", want, failed)
			}
		}
		r = run(t, a, checks[3:4], gray)
		failed = r.Evidence()
		for _, want := range []string{"check p99-tight failed", "p99=475ms", "histogram_quantile(0.99", `route=~"local/ns1/svc#[0-9]+",version="gray"`} {
			if !strings.Contains(failed, want) {
				t.Errorf("evidence lacks %q:\n%s", want, failed)
			}
		}
	})
}

// TestNoTrafficIsDecidedByThePolicy: a route without requests gives no
// data; the check waits for its window to end, then fails by default and
// passes only when it says noData: pass.
func TestNoTrafficIsDecidedByThePolicy(t *testing.T) {
	p := promtest.StartPrometheus(t, []string{series(t)}, nil)
	a, err := prom.New(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	idle := analysis.Subject{Cluster: "local", Namespace: "ns1", Application: "idle"}
	checks := []analysis.Check{
		{Name: "strict", Template: analysis.ErrorRate, Threshold: "1%", Interval: "2s", Samples: 2},
		{Name: "lenient", Template: analysis.LatencyP99, Threshold: "1s", Interval: "2s", Samples: 2, NoData: analysis.Pass},
	}
	r := run(t, a, checks, idle)
	for _, cr := range r.Checks {
		if len(cr.Samples) != 2 {
			t.Errorf("%s: %d samples, want both taken before deciding: %+v", cr.Name, len(cr.Samples), cr.Samples)
		}
		for _, s := range cr.Samples {
			if s.Outcome != analysis.SampleNoData || s.Values[0] != nil {
				t.Errorf("%s: sample %+v, want no data", cr.Name, s)
			}
		}
	}
	if got := r.Checks[0]; got.Verdict != analysis.Failed || !strings.Contains(got.Message, "no data") {
		t.Errorf("strict: %s %q, want Failed for want of data", got.Verdict, got.Message)
	}
	if got := r.Checks[1]; got.Verdict != analysis.Passed {
		t.Errorf("lenient: %s %q, want Passed (noData: pass)", got.Verdict, got.Message)
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func deref(v *float64) any {
	if v == nil {
		return "no data"
	}
	return *v
}
