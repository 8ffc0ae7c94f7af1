package prom_test

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"berth.dev/berth/internal/alert/prom"
	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/dashboard"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/promtest"
	"berth.dev/berth/internal/resource"
)

// versionsTarget is a scrape target with the gateway's and Berth's pod
// series of checkout in bank/pay's prod whose values the test knows at
// any time: the request counters grow linearly with time (stable 10/s, no
// errors, every request in the 50–100ms bucket; gray 4/s, 1/s of them
// 503, every request in the 250–500ms bucket), so every rate, ratio and
// quantile Prometheus computes is known by hand; stable runs 3 ready pods
// and no restarts, v2 (gray) 1 ready pod and 2 restarts.
func versionsTarget(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_gateway_requests_total"}, []string{"route", "version", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_gateway_request_duration_seconds",
		Buckets: analysis.LatencyBuckets()}, []string{"route", "version"})
	pods := []string{"cluster", "namespace", "tenant", "project", "environment", "app", "version"}
	ready := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "berth_app_pods_ready"}, pods)
	restarts := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "berth_app_container_restarts"}, pods)
	reg.MustRegister(requests, duration, ready, restarts)
	for version, n := range map[string][2]float64{"v1": {3, 0}, "v2": {1, 2}} {
		ready.WithLabelValues("local", "bank-pay-prod", "bank", "pay", "prod", "checkout", version).Set(n[0])
		restarts.WithLabelValues("local", "bank-pay-prod", "bank", "pay", "prod", "checkout", version).Set(n[1])
	}
	// Another application's series must stay out of checkout's panels.
	ready.WithLabelValues("local", "bank-pay-prod", "bank", "pay", "prod", "ledger", "v9").Set(7)
	requests.WithLabelValues("local/bank-pay-prod/ledger#0", "stable", "500").Add(1e6)

	const route = "local/bank-pay-prod/checkout#0"
	start := time.Now()
	var mu sync.Mutex
	counted := map[[2]string]float64{} // version, code → requests counted so far
	grow := func(version, code string, perSecond, latency float64) {
		k := [2]string{version, code}
		n := math.Floor(time.Since(start).Seconds() * perSecond)
		for ; counted[k] < n; counted[k]++ {
			requests.WithLabelValues(route, version, code).Inc()
			duration.WithLabelValues(route, version).Observe(latency)
		}
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		grow("stable", "200", 10, 0.08)
		grow("gray", "200", 3, 0.3)
		grow("gray", "503", 1, 0.3)
		mu.Unlock()
		metrics.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestDashboardShowsEachVersionFromARealPrometheus reads checkout's
// dashboard through the application layer from a real Prometheus scraping
// versionsTarget: each panel has a stable and a gray series whose latest
// values are those computed by hand, another application's series stay
// out, a reader
// of another project is refused, and a range of too many points is
// refused naming step.
func TestDashboardShowsEachVersionFromARealPrometheus(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pr := promtest.StartPrometheus(t, []string{versionsTarget(t)}, nil)
	p := newPlatform(t, nil, change.NewBus())
	q, err := prom.NewQuerier(pr.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.Metrics = q
	k := deploy.Key{Tenant: "bank", Project: "pay", Application: "checkout", Environment: "prod"}
	err = p.DB.InTx(ctx, func(tx platform.Tx) error {
		_, err := p.Apps.CreateApplication(ctx, tx, audit.System, apps.Application{Tenant: "bank", Project: "pay", Name: "checkout"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	other := platform.Caller{Actor: audit.Actor{User: "eve"}, Bindings: []authz.Binding{{Role: authz.Viewer, Scope: authz.ProjectScope("bank", "web")}}}
	now := time.Now()
	if _, err := p.AppDashboard(ctx, other, k, dashboard.Range{Start: now.Add(-time.Minute), End: now, Step: time.Second}); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("dashboard read by a viewer of bank/web = %v, want ErrForbidden", err)
	}
	var ve *resource.ValidationError
	if _, err := p.AppDashboard(ctx, root, k, dashboard.Range{Start: now.Add(-time.Hour), End: now, Step: time.Second}); !errors.As(err, &ve) || ve.Fields[0].Path != "step" {
		t.Errorf("an hour at 1s (3601 points) = %v, want a field error of step", err)
	}

	// Stable 10/s without errors in the 50–100ms bucket: p50 0.075, p99
	// 0.0995 (linear within the bucket). Gray 4/s, a quarter 503, in the
	// 250–500ms bucket: p50 0.375, p99 0.4975. Pods as the target sets them.
	want := map[string]map[string]float64{
		"stable": {"requests": 10, "errorRatio": 0, "p50": 0.075, "p99": 0.0995},
		"gray":   {"requests": 4, "errorRatio": 0.25, "p50": 0.375, "p99": 0.4975},
		"v1":     {"podsReady": 3, "restarts": 0},
		"v2":     {"podsReady": 1, "restarts": 2},
	}
	var d dashboard.Dashboard
	// The rates look back a minute: they are right once a minute of
	// scrapes has landed.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		now := time.Now()
		d, err = p.AppDashboard(ctx, root, k, dashboard.Range{Start: now.Add(-30 * time.Second), End: now, Step: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		miss := mismatches(d, want)
		if len(miss) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after two minutes the dashboard still differs: %s", strings.Join(miss, "; "))
		}
		time.Sleep(time.Second)
	}
	if d.Step != "5s" || d.Window != "60s" || len(d.Panels) != 6 {
		t.Errorf("step %s, window %s, %d panels; want 5s, 60s (at least a minute) and 6", d.Step, d.Window, len(d.Panels))
	}
	for _, pn := range d.Panels {
		for _, s := range pn.Series {
			if s.Version == "v9" || s.Track == "none" {
				t.Errorf("panel %s holds a series not of checkout's versions: %+v", pn.Name, s)
			}
		}
	}
}

// mismatches lists where d's latest values differ from want (by track for
// gateway panels, by version for pod panels) by more than 3 %.
func mismatches(d dashboard.Dashboard, want map[string]map[string]float64) []string {
	got := map[string]map[string]float64{}
	for _, pn := range d.Panels {
		for _, s := range pn.Series {
			key := s.Version
			if pn.Name == "requests" || pn.Name == "errorRatio" || pn.Name == "p50" || pn.Name == "p99" {
				key = s.Track
			}
			if got[key] == nil {
				got[key] = map[string]float64{}
			}
			if len(s.Points) > 0 {
				got[key][pn.Name] = last(s)
			}
		}
	}
	var out []string
	for key, panels := range want {
		for name, w := range panels {
			g, ok := got[key][name]
			if !ok || math.Abs(g-w) > 0.03*w+1e-9 {
				out = append(out, key+" "+name+": got "+fmtFloat(g, ok)+", want "+fmtFloat(w, true))
			}
		}
	}
	return out
}

func last(s dashboard.Series) float64 { return s.Points[len(s.Points)-1].Value }

func fmtFloat(f float64, ok bool) string {
	if !ok {
		return "none"
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}
