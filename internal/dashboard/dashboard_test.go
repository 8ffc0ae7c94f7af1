package dashboard_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/dashboard"
	"berth.dev/berth/internal/resource"
)

func TestRangeValidationNamesTheField(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		r     dashboard.Range
		field string // "" valid
	}{
		{"an hour at 30s is 121 points", dashboard.Range{Start: end.Add(-time.Hour), End: end, Step: 30 * time.Second}, ""},
		{"a day at a minute and a half", dashboard.Range{Start: end.Add(-24 * time.Hour), End: end, Step: 90 * time.Second}, ""},
		{"no start", dashboard.Range{End: end, Step: time.Minute}, "start"},
		{"start after end", dashboard.Range{Start: end.Add(time.Minute), End: end, Step: time.Minute}, "start"},
		{"longer than 31 days", dashboard.Range{Start: end.Add(-32 * 24 * time.Hour), End: end, Step: time.Hour}, "start"},
		{"no step", dashboard.Range{Start: end.Add(-time.Hour), End: end}, "step"},
		{"a step of part of a second", dashboard.Range{Start: end.Add(-time.Hour), End: end, Step: 1500 * time.Millisecond}, "step"},
		{"an hour at a second is 3601 points", dashboard.Range{Start: end.Add(-time.Hour), End: end, Step: time.Second}, "step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			var ve *resource.ValidationError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.field != "" && (!errors.As(err, &ve) || ve.Fields[0].Path != tc.field):
				t.Fatalf("Validate() = %v, want a field error of %s", err, tc.field)
			}
		})
	}
}

func TestDefaultStepCutsTheRangeIntoAbout120Points(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		span, want time.Duration
	}{
		{time.Hour, 30 * time.Second},
		{24 * time.Hour, 12 * time.Minute},
		{time.Minute, time.Second},         // at least a second
		{5 * time.Minute, 2 * time.Second}, // 2.5s, whole seconds
	} {
		if got := dashboard.DefaultStep(end.Add(-tc.span), end); got != tc.want {
			t.Errorf("DefaultStep over %s = %s, want %s", tc.span, got, tc.want)
		}
	}
}

func TestQueriesSelectTheApplicationsRoutesAndPodsByVersion(t *testing.T) {
	t.Parallel()
	s := dashboard.Subject{Tenant: "bank", Project: "pay", Environment: "prod", Application: "red.auth", Cluster: "local", Namespace: "bank-pay"}
	route := `route=~"local/bank-pay/red\\.auth#[0-9]+"`
	all := `sum by (version) (rate(berth_gateway_requests_total{` + route + `}[60s]))`
	want := map[string]string{
		"requests":   all,
		"errorRatio": `(sum by (version) (rate(berth_gateway_requests_total{` + route + `,code=~"5.."}[60s])) or (` + all + ` * 0)) / ` + all,
		"p50":        `histogram_quantile(0.5, sum by (version, le) (rate(berth_gateway_request_duration_seconds_bucket{` + route + `}[60s])))`,
		"p99":        `histogram_quantile(0.99, sum by (version, le) (rate(berth_gateway_request_duration_seconds_bucket{` + route + `}[60s])))`,
		"podsReady":  `sum by (version) (berth_app_pods_ready{cluster="local",namespace="bank-pay",tenant="bank",project="pay",environment="prod",app="red.auth"})`,
		"restarts":   `sum by (version) (berth_app_container_restarts{cluster="local",namespace="bank-pay",tenant="bank",project="pay",environment="prod",app="red.auth"})`,
	}
	got := map[string]string{}
	for _, q := range dashboard.Queries(s, time.Minute) {
		got[q.Name] = q.Expr
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("queries (-want +got):\n%s", d)
	}
}
