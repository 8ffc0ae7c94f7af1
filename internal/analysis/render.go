package analysis

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Queries renders c's PromQL queries for s: one for a template over one
// version or a custom query, two ("gray", then "stable") for
// ErrorRateOverStable. Each looks at one sample's window.
func (c Check) Queries(s Subject) []Query {
	w := promDuration(c.interval())
	switch c.Template {
	case ErrorRate:
		return []Query{{Name: "error-rate", Expr: errorRate(s, s.Version, w)}}
	case ErrorRateOverStable:
		return []Query{{Name: "gray", Expr: errorRate(s, "gray", w)}, {Name: "stable", Expr: errorRate(s, "stable", w)}}
	case LatencyP99:
		return []Query{{Name: "p99", Expr: fmt.Sprintf(
			`histogram_quantile(0.99, sum by (le) (rate(berth_gateway_request_duration_seconds_bucket{%s}[%s])))`, selector(s, s.Version), w)}}
	}
	return []Query{{Name: "query", Expr: c.Query}}
}

// errorRate is the share of 5xx answers of version's requests: no data
// when there were no requests, 0 when none failed.
func errorRate(s Subject, version, w string) string {
	sel := selector(s, version)
	return fmt.Sprintf(`(sum(rate(berth_gateway_requests_total{%[1]s,code=~"5.."}[%[2]s])) or vector(0)) / sum(rate(berth_gateway_requests_total{%[1]s}[%[2]s]))`,
		sel, w)
}

// ErrorRatio is the share of 5xx answers of s's requests (every version
// when s.Version is empty) over the PromQL range w ("300s"): no data when
// there were no requests. SLOs (internal/alert) measure with it.
func ErrorRatio(s Subject, w string) string { return errorRate(s, s.Version, w) }

// Selector is the label selector of the gateway's series of s's routes
// and version (every version when s.Version is empty).
func Selector(s Subject) string { return selector(s, s.Version) }

// LatencyBuckets are the upper bounds, in seconds, of the gateway's
// request duration histogram (berth_gateway_request_duration_seconds):
// the latencies a ratio of fast requests can be counted at.
func LatencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// selector selects the gateway's series of s's routes and version ("":
// every version).
func selector(s Subject, version string) string {
	sel := fmt.Sprintf(`route=~"%s#[0-9]+"`, promRegexp(s.Cluster+"/"+s.Namespace+"/"+s.Application))
	if version != "" {
		sel += fmt.Sprintf(`,version=%q`, version)
	}
	return sel
}

// promRegexp quotes s as a literal inside a PromQL regular expression in a
// double-quoted string: RE2's escapes, then the string's.
func promRegexp(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(s), `\`, `\\`)
}

// promDuration renders d as Prometheus seconds ("60s").
func promDuration(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// settle is how long after a sample's window ends its queries are asked:
// the scrapes of the window's last moments must have landed. A quarter of
// the window, between 1s and 15s.
func settle(interval time.Duration) time.Duration {
	return min(max(interval/4, time.Second), 15*time.Second)
}
