package metricscmd

import (
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/dashboard"
)

// TestTableShowsEachVersionsLatestValuesStableFirst: one row per version
// (a track without a known version by its track), stable, then gray, then
// the others by name; each cell the series' last point, "-" without one.
func TestTableShowsEachVersionsLatestValuesStableFirst(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	pts := func(vs ...float64) []dashboard.Point {
		out := []dashboard.Point{}
		for i, v := range vs {
			out = append(out, dashboard.Point{Time: at.Add(time.Duration(i) * time.Minute), Value: v})
		}
		return out
	}
	d := apitypes.AppDashboard{Application: "svc", Environment: "dev", Start: at, End: at.Add(2 * time.Minute), Step: "60s",
		Panels: []dashboard.Panel{
			{Name: "requests", Series: []dashboard.Series{{Version: "v2", Track: "gray", Points: pts(1, 4.5)},
				{Version: "v1", Track: "stable", Points: pts(9, 10)}, {Track: "none", Points: pts(0.25)}}},
			{Name: "errorRatio", Series: []dashboard.Series{{Version: "v2", Track: "gray", Points: pts(0.5, 1)},
				{Version: "v1", Track: "stable", Points: pts(0)}}},
			{Name: "p99", Series: []dashboard.Series{{Version: "v1", Track: "stable", Points: pts(0.0995)}}},
			{Name: "podsReady", Series: []dashboard.Series{{Version: "v0", Points: pts(1)}, {Version: "v1", Track: "stable", Points: pts(2)},
				{Version: "v2", Track: "gray", Points: pts(2)}}},
			{Name: "restarts", Series: []dashboard.Series{{Version: "v2", Track: "gray", Points: pts()}}},
		}}
	var b strings.Builder
	if err := printTable(&b, d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")[1:]
	want := []string{
		"VERSION  TRACK   REQ/S  ERRORS   P50  P99     READY  RESTARTS",
		"v1       stable  10.00  0.00%    -    99.5ms  2      -",
		"v2       gray    4.50   100.00%  -    -       2      -",
		"(none)   none    0.25   -        -    -       -      -",
		"v0       -       -      -        -    -       1      -",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
