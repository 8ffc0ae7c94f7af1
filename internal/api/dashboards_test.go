package api

import (
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/store/storetest"
)

// TestDashboardRangeIsCheckedBeforePrometheus: a dashboard's range and
// step are refused naming the field (a bad duration, a bad time, both since
// and start, too many points, a range beyond 31 days) before anything is
// asked; a good range on a server without Prometheus is refused as not
// available (409), and an unknown application is not found.
func TestDashboardRangeIsCheckedBeforePrometheus(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	applyCheckoutInProd(h, admin)
	path := "/tenants/bank/projects/pay/environments/prod/deployments/checkout/metrics"
	for _, tc := range []struct {
		query, field string
	}{
		{"since=soon", "since"},
		{"since=-5m", "since"},
		{"end=yesterday", "end"},
		{"since=1h&start=2026-12-07T10:00:00Z", "since"},
		{"since=1h&step=1s", "step"},
		{"since=1h&step=1500ms", "step"},
		{"since=800h&step=1h", "start"},
	} {
		r := h.must(http.StatusUnprocessableEntity, admin, "GET", path+"?"+tc.query, nil)
		if f := r.errorBody(t).Fields; len(f) == 0 || f[0].Path != tc.field {
			t.Errorf("?%s: fields %+v, want %s", tc.query, f, tc.field)
		}
	}
	h.must(http.StatusConflict, admin, "GET", path+"?since=1h&step=1m", nil)
	h.must(http.StatusNotFound, admin, "GET", strings.Replace(path, "checkout", "nobody", 1)+"?since=1h", nil)
}
