package slo_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/slo"
)

var place = alert.Place{Cluster: "local", Namespace: "bank-pay-prod"}

func availability(edit ...func(*slo.SLO)) slo.SLO {
	s := slo.SLO{Tenant: "bank", Project: "pay", Name: "checkout-avail", Environment: "prod", Application: "checkout",
		Kind: slo.Availability, Objective: 99.9}
	for _, e := range edit {
		e(&s)
	}
	return s
}

type fileRule struct {
	Record      string            `json:"record"`
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// render renders s as its project's rule file would hold it.
func render(t *testing.T, s slo.SLO) []fileRule {
	t.Helper()
	b, err := alert.RuleFile("bank/pay", nil, s.Rules(place), nil)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string     `json:"name"`
			Rules []fileRule `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Groups) != 1 || f.Groups[0].Name != "bank/pay" {
		t.Fatalf("rule file:\n%s\nwant one group bank/pay", b)
	}
	return f.Groups[0].Rules
}

const route = `route=~"local/bank-pay-prod/checkout#[0-9]+"`

func TestAvailabilityRendersTheWorkbookAlertsOverRecordedRatios(t *testing.T) {
	t.Parallel()
	rules := render(t, availability())
	// A recording rule per distinct window of a 30-day SLO (6h is both
	// page's long and ticket's short window), then the two alerts.
	wantWindows := []string{"3600s", "300s", "21600s", "1800s", "86400s", "7200s", "259200s"}
	if len(rules) != len(wantWindows)+2 {
		t.Fatalf("%d rules, want %d recording rules and 2 alerts: %+v", len(rules), len(wantWindows), rules)
	}
	for i, w := range wantWindows {
		r := rules[i]
		want := `(sum(rate(berth_gateway_requests_total{` + route + `,code=~"5.."}[` + w + `])) or vector(0)) / sum(rate(berth_gateway_requests_total{` + route + `}[` + w + `]))`
		if r.Record != "berth:slo_error_ratio" || r.Expr != want {
			t.Errorf("rule %d = %s: %s\nwant berth:slo_error_ratio: %s", i, r.Record, r.Expr, want)
		}
		wantLabels := map[string]string{"tenant": "bank", "project": "pay", "environment": "prod", "app": "checkout", "slo": "checkout-avail", "window": w}
		if !equal(r.Labels, wantLabels) {
			t.Errorf("rule %d labels %v, want %v", i, r.Labels, wantLabels)
		}
	}
	sel := func(w string) string {
		return `berth:slo_error_ratio{tenant="bank",project="pay",environment="prod",app="checkout",slo="checkout-avail",window="` + w + `"}`
	}
	page, ticket := rules[7], rules[8]
	wantPage := `max without (window) ((` + sel("3600s") + ` > 14.4 * (1 - 99.9 / 100) and ignoring (window) ` + sel("300s") + ` > 14.4 * (1 - 99.9 / 100))` +
		` or (` + sel("21600s") + ` > 6 * (1 - 99.9 / 100) and ignoring (window) ` + sel("1800s") + ` > 6 * (1 - 99.9 / 100)))`
	wantTicket := `max without (window) ((` + sel("86400s") + ` > 3 * (1 - 99.9 / 100) and ignoring (window) ` + sel("7200s") + ` > 3 * (1 - 99.9 / 100))` +
		` or (` + sel("259200s") + ` > 1 * (1 - 99.9 / 100) and ignoring (window) ` + sel("21600s") + ` > 1 * (1 - 99.9 / 100)))`
	if page.Alert != "checkout-avail-burn-page" || page.Expr != wantPage || page.For != "" || page.Labels["severity"] != "critical" {
		t.Errorf("page alert %s (for %q, %v):\n%s\nwant checkout-avail-burn-page, critical, at once:\n%s", page.Alert, page.For, page.Labels, page.Expr, wantPage)
	}
	if ticket.Alert != "checkout-avail-burn-ticket" || ticket.Expr != wantTicket || ticket.Labels["severity"] != "warning" {
		t.Errorf("ticket alert %s (%v):\n%s\nwant checkout-avail-burn-ticket, warning:\n%s", ticket.Alert, ticket.Labels, ticket.Expr, wantTicket)
	}
	// The routing labels of every Berth alert, so the project's receivers
	// get them and silences select them.
	for _, k := range []string{"tenant", "project", "environment", "app", "rule"} {
		if page.Labels[k] == "" {
			t.Errorf("page alert lacks label %s: %v", k, page.Labels)
		}
	}
}

func TestWindowsScaleWithTheSLOsWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		window string
		// long and short window of page, page, ticket, ticket
		want [4][2]time.Duration
	}{
		{"", [4][2]time.Duration{{time.Hour, 5 * time.Minute}, {6 * time.Hour, 30 * time.Minute}, {24 * time.Hour, 2 * time.Hour}, {72 * time.Hour, 6 * time.Hour}}},
		// 7/30 of each: 1h → 14m, 5m → 70s, 6h → 84m, 30m → 7m, 1d → 5.6h, 2h → 28m, 3d → 16.8h, 6h → 84m.
		{"7d", [4][2]time.Duration{{14 * time.Minute, 70 * time.Second}, {84 * time.Minute, 7 * time.Minute}, {336 * time.Minute, 28 * time.Minute}, {1008 * time.Minute, 84 * time.Minute}}},
		// 1/30 of each, at least a minute: 5m → 10s → 1m.
		{"24h", [4][2]time.Duration{{2 * time.Minute, time.Minute}, {12 * time.Minute, time.Minute}, {48 * time.Minute, 4 * time.Minute}, {144 * time.Minute, 12 * time.Minute}}},
	}
	for _, tt := range tests {
		got := availability(func(s *slo.SLO) { s.Window = tt.window }).BurnAlerts()
		for i, b := range got {
			if b.Long != tt.want[i][0] || b.Short != tt.want[i][1] {
				t.Errorf("window %q, alert %d: %s and %s, want %s and %s", tt.window, i, b.Long, b.Short, tt.want[i][0], tt.want[i][1])
			}
		}
	}
}

func TestLatencyCountsRequestsSlowerThanTheThresholdsBucket(t *testing.T) {
	t.Parallel()
	rules := render(t, availability(func(s *slo.SLO) { s.Kind, s.Threshold, s.Objective = slo.Latency, "250ms", 99 }))
	want := `1 - sum(rate(berth_gateway_request_duration_seconds_bucket{` + route + `,le="0.25"}[300s])) / sum(rate(berth_gateway_request_duration_seconds_count{` + route + `}[300s]))`
	if rules[1].Labels["window"] != "300s" || rules[1].Expr != want {
		t.Errorf("5m ratio: %s\nwant %s", rules[1].Expr, want)
	}
	if !strings.Contains(rules[7].Expr, "> 14.4 * (1 - 99 / 100)") {
		t.Errorf("page alert %s, want the 99 %% objective's budget", rules[7].Expr)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		edit  func(*slo.SLO)
		field string
	}{
		{func(s *slo.SLO) { s.Objective = 0 }, "objective"},
		{func(s *slo.SLO) { s.Objective = 100 }, "objective"},
		{func(s *slo.SLO) { s.Objective = 120 }, "objective"},
		{func(s *slo.SLO) { s.Objective = math.NaN() }, "objective"},
		{func(s *slo.SLO) { s.Window = "12h" }, "window"},
		{func(s *slo.SLO) { s.Window = "91d" }, "window"},
		{func(s *slo.SLO) { s.Window = "a month" }, "window"},
		{func(s *slo.SLO) { s.Window = "36h30m" }, "window"},
		{func(s *slo.SLO) { s.Kind = "throughput" }, "kind"},
		{func(s *slo.SLO) { s.Threshold = "300ms" }, "threshold"},
		{func(s *slo.SLO) { s.Kind = slo.Latency }, "threshold"},
		{func(s *slo.SLO) { s.Kind, s.Threshold = slo.Latency, "300ms" }, "threshold"},
		{func(s *slo.SLO) { s.Application = "" }, "application"},
		{func(s *slo.SLO) { s.Environment = "Prod!" }, "environment"},
	}
	for _, tt := range tests {
		s := availability(tt.edit)
		var ve *resource.ValidationError
		if err := s.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Path != tt.field {
			t.Errorf("Validate(%+v) = %v, want one error of %s", s, err, tt.field)
		}
	}
	for _, s := range []slo.SLO{availability(), availability(func(s *slo.SLO) { s.Window = "90d" }),
		availability(func(s *slo.SLO) { s.Kind, s.Threshold, s.Window = slo.Latency, "2.5s", "168h" })} {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", s, err)
		}
	}
}

// ratio is a leaf Querier: Prometheus's answer, fixed.
type ratio struct {
	v    float64
	ok   bool
	expr string
}

func (r *ratio) Query(_ context.Context, expr string, _ time.Time) (float64, bool, error) {
	r.expr = expr
	return r.v, r.ok, nil
}

func TestBudgetIsTheShareOfTheAllowedErrorsLeft(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	q := &ratio{v: 0.0004, ok: true}
	b, err := availability().Budget(t.Context(), q, place, at)
	if err != nil {
		t.Fatal(err)
	}
	// 99.9 % allows 0.1 % of errors; 0.04 % spent leaves 60 % of it.
	if b.ErrorRatio == nil || *b.ErrorRatio != 0.0004 || b.Remaining == nil || math.Abs(*b.Remaining-0.6) > 1e-9 ||
		b.Objective != 99.9 || b.Window != "30d" || !b.At.Equal(at) {
		t.Errorf("budget %+v, want error ratio 0.0004, 0.6 remaining over 30d", b)
	}
	if !strings.Contains(q.expr, "[2592000s]") {
		t.Errorf("asked %s, want the ratio over 30 days", q.expr)
	}
	none, err := availability().Budget(t.Context(), &ratio{}, place, at)
	if err != nil || none.ErrorRatio != nil || none.Remaining != nil {
		t.Errorf("without requests: %+v, %v; want no ratio and no remaining budget", none, err)
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
