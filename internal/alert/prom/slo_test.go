package prom_test

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"berth.dev/berth/internal/alert/prom"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/promtest"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/slo"
)

// gatewayTarget is a scrape target with the gateway's request counter
// and duration histogram whose values the test controls: every scrape
// counts ten more requests of checkout in bank/pay's prod, one of them
// answered 503 and one of them taking a second, the others 100ms (an error
// ratio, and a ratio slower than 250ms, of exactly 0.1 over any window).
func gatewayTarget(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_gateway_requests_total"}, []string{"route", "version", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "berth_gateway_request_duration_seconds",
		Buckets: []float64{.1, .25, .5, 1, 2.5}}, []string{"route", "version"})
	reg.MustRegister(requests, duration)
	const route = "local/bank-pay-prod/checkout#0"
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.WithLabelValues(route, "stable", "200").Add(9)
		requests.WithLabelValues(route, "stable", "503").Add(1)
		for i := range 10 {
			duration.WithLabelValues(route, "stable").Observe(map[bool]float64{true: 1, false: 0.1}[i == 0])
		}
		metrics.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestSLOBurningItsBudgetPagesInPrometheus publishes an availability SLO
// and a latency SLO into a real Prometheus scraping a target that fails a
// tenth of its requests and answers a tenth slowly: their rules load
// (promtool checked them at Put), their page alerts become active, and
// the error budget reads are the ones computed by hand.
func TestSLOBurningItsBudgetPagesInPrometheus(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	am := promtest.StartAlertmanager(t)
	pr := promtest.StartPrometheus(t, []string{gatewayTarget(t)}, am)
	changes := change.NewBus()
	p := newPlatform(t, nil, changes)
	q, err := prom.NewQuerier(pr.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.SLOQuerier = q
	pub := prom.NewPublisher(p.DB, prom.Options{RulesDir: pr.RulesDir, PrometheusURL: pr.URL, AlertmanagerConfig: am.Config,
		AlertmanagerURL: am.URL, HookBase: "http://127.0.0.1:1/api/v1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	err = p.DB.InTx(ctx, func(tx platform.Tx) error {
		_, err := p.Apps.CreateApplication(ctx, tx, audit.System, apps.Application{Tenant: "bank", Project: "pay", Name: "checkout"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	s := slo.SLO{Tenant: "bank", Project: "pay", Name: "checkout-avail", Environment: "prod", Application: "checkout",
		Kind: slo.Availability, Objective: 99.9}
	if _, _, err := p.PutSLO(ctx, root, s); err != nil {
		t.Fatal(err)
	}
	fast := slo.SLO{Tenant: "bank", Project: "pay", Name: "checkout-fast", Environment: "prod", Application: "checkout",
		Kind: slo.Latency, Threshold: "250ms", Objective: 99, Window: "7d"}
	if _, _, err := p.PutSLO(ctx, root, fast); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name   string `json:"name"`
					Type   string `json:"type"`
					Health string `json:"health"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, pr.URL+"/api/v1/rules", &rules)
	if g := rules.Data.Groups; len(g) != 1 || g[0].Name != "bank/pay" || len(g[0].Rules) != 18 {
		t.Fatalf("Prometheus loaded %+v, want group bank/pay with 7 recording rules and 2 alerts per SLO", g)
	}

	// 0.1 of the requests fail: above 14.4 × 0.1 % over both windows of
	// the first page pair, so the availability SLO's page alert becomes
	// active; 0.1 are slower than 250ms: below 14.4 × 1 % but above 6 × 1 %,
	// so the latency SLO's second pair pages. Each SLO pages once, whichever
	// pairs fire.
	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	active := func() bool {
		getJSON(t, pr.URL+"/api/v1/alerts", &alerts)
		pages := map[string]int{}
		for _, a := range alerts.Data.Alerts {
			if strings.HasSuffix(a.Labels["alertname"], "-burn-page") && (a.State == "firing" || a.State == "pending") &&
				a.Labels["severity"] == "critical" && a.Labels["tenant"] == "bank" && a.Labels["project"] == "pay" && a.Labels["app"] == "checkout" {
				pages[a.Labels["alertname"]]++
			}
		}
		if len(pages) == 2 && (pages["checkout-avail-burn-page"] != 1 || pages["checkout-fast-burn-page"] != 1) {
			t.Fatalf("page alerts %v, want one of each SLO: %+v", pages, alerts.Data.Alerts)
		}
		return len(pages) == 2
	}
	for deadline := time.Now().Add(60 * time.Second); !active(); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the page alerts never became active; Prometheus's alerts: %+v", alerts.Data.Alerts)
		}
	}

	// Over 30 days the error ratio is 0.1 (1 in 10); 99.9 % allows 0.001,
	// so 1 - 0.1/0.001 = -99 of the budget remains: overspent 99 times.
	b, err := p.SLOBudget(ctx, root, "bank", "pay", "checkout-avail")
	if err != nil {
		t.Fatal(err)
	}
	if b.ErrorRatio == nil || math.Abs(*b.ErrorRatio-0.1) > 1e-9 || b.Remaining == nil || math.Abs(*b.Remaining-(-99)) > 1e-6 ||
		b.Objective != 99.9 || b.Window != "30d" {
		t.Errorf("budget %+v (ratio %v, remaining %v), want ratio 0.1 and -99 remaining", b, deref(b.ErrorRatio), deref(b.Remaining))
	}

	// Over 7 days 0.1 of the requests took longer than 250ms; 99 % allows
	// 0.01, so 1 - 0.1/0.01 = -9 remains.
	b, err = p.SLOBudget(ctx, root, "bank", "pay", "checkout-fast")
	if err != nil {
		t.Fatal(err)
	}
	if b.ErrorRatio == nil || math.Abs(*b.ErrorRatio-0.1) > 1e-9 || b.Remaining == nil || math.Abs(*b.Remaining-(-9)) > 1e-6 || b.Window != "7d" {
		t.Errorf("latency budget %+v (ratio %v, remaining %v), want ratio 0.1 and -9 remaining", b, deref(b.ErrorRatio), deref(b.Remaining))
	}

	// A reader of another project is refused; deleting the SLO takes its
	// rules out of Prometheus at the next publication.
	other := platform.Caller{Actor: audit.Actor{User: "eve"}, Bindings: []authz.Binding{{Role: authz.Viewer, Scope: authz.ProjectScope("bank", "web")}}}
	if _, err := p.SLOBudget(ctx, other, "bank", "pay", "checkout-avail"); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("budget read by a viewer of bank/web = %v, want ErrForbidden", err)
	}
	for _, name := range []string{"checkout-avail", "checkout-fast"} {
		if err := p.DeleteSLO(ctx, root, "bank", "pay", name); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	getJSON(t, pr.URL+"/api/v1/rules", &rules)
	if len(rules.Data.Groups) != 0 {
		t.Errorf("after the SLO's deletion Prometheus still has %+v", rules.Data.Groups)
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
