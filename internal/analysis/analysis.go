// Package analysis holds metric analysis for releases (issue #15, ADR
// 0020): the checks a release order's item or a gray plan's step may name —
// the error rate, the error rate against the stable version's, the p99
// latency through the Berth gateway, or a custom PromQL query, each with a
// threshold, sampled every Interval Samples times — and their evaluation.
//
// Berth computes no metric itself: each sample is an instant query to
// Prometheus at a fixed evaluation time (the end of the sample's window),
// asked through the Analyzer the domain declares here and
// internal/analysis/prom implements with Prometheus's API client. Because a
// sample's time is fixed, its answer never changes, so the adapter caches
// it, and a controller that looks again before the answer is in only asks
// for it again (Analyzer must not block).
//
// A sample passes, fails, or has no data (the query returned nothing or
// NaN: no traffic; or Prometheus did not answer within the sample's retry
// time). A check fails as soon as more samples failed than FailureLimit
// allows; it ends after its last sample, passing when every sample with
// data passed and, if some had none, as its NoData policy says (fail
// unless it says pass). A failed check is a fault: the release order rolls
// back, the gray plan aborts, and the Run is the evidence — every query,
// the values observed at each time, the threshold.
package analysis

import (
	"context"
	"time"
)

// Templates a check may be made from; a check without one has a Query.
const (
	// ErrorRate: the share of 5xx answers through the gateway over each
	// sample's window, at most Threshold (a percentage, "1%").
	ErrorRate = "error-rate"
	// ErrorRateOverStable: the gray version's error rate at most the
	// stable version's plus Threshold (percentage points, "0.5%"); gray
	// plans only.
	ErrorRateOverStable = "error-rate-over-stable"
	// LatencyP99: the 99th percentile of the gateway's request duration
	// over each sample's window, at most Threshold (a duration, "300ms").
	LatencyP99 = "latency-p99"
)

// Templates lists the templates in the order help shows them.
func Templates() []string { return []string{ErrorRate, ErrorRateOverStable, LatencyP99} }

// No-data policies: what a check whose window ended with samples without
// data decides.
const (
	// Fail: a check that could not see enough is not a pass (default).
	Fail = "fail"
	// Pass: samples without data are ignored (the samples with data must
	// still pass).
	Pass = "pass"
)

// Bounds and defaults.
const (
	MaxChecks      = 10
	MaxSamples     = 60
	MaxQuery       = 4096
	DefaultSamples = 3
	// DefaultInterval is a sample's window when the check names none.
	DefaultInterval = time.Minute
	MinInterval     = time.Second
	MaxInterval     = time.Hour
)

// Check is one metric check.
type Check struct {
	// Name is unique among the checks of one item or step.
	Name string `json:"name"`
	// Template is one of Templates; "" with a custom Query.
	Template string `json:"template,omitempty"`
	// Query is custom PromQL returning one number (one series or a
	// scalar), compared with Threshold.
	Query string `json:"query,omitempty"`
	// Threshold is what passes: a percentage ("0.5%") for error rates, a
	// duration ("300ms") for latency, a comparison ("<= 0.05", "> 100")
	// for a custom query.
	Threshold string `json:"threshold"`
	// Interval is each sample's window and the time between samples
	// (default 1m).
	Interval string `json:"interval,omitempty"`
	// Samples is how many samples the check takes (default 3).
	Samples int `json:"samples,omitempty"`
	// FailureLimit is how many failed samples the check tolerates
	// (default 0: the first failed sample fails it).
	FailureLimit int `json:"failureLimit,omitempty"`
	// NoData is the policy for samples without data once the window
	// ended: fail (default) or pass.
	NoData string `json:"noData,omitempty"`
}

// Subject is what the checks watch: an application's routes through the
// Berth gateway, which labels them "<cluster>/<namespace>/<app>#<n>", and
// the gateway's version label ("gray" in a gray plan; "" for all traffic).
type Subject struct {
	Cluster, Namespace, Application string
	Version                         string
}

// Verdict is where a run or one check of it is.
type Verdict string

// Verdicts.
const (
	Running Verdict = "Running"
	Passed  Verdict = "Passed"
	Failed  Verdict = "Failed"
)

// Sample outcomes.
const (
	SamplePass   = "pass"
	SampleFail   = "fail"
	SampleNoData = "nodata"
)

// Run is the analysis of one item's or step's checks: the evidence.
type Run struct {
	StartedAt  time.Time  `json:"startedAt"`
	Verdict    Verdict    `json:"verdict"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	Checks     []CheckRun `json:"checks"`
}

// CheckRun is one check's part of a run.
type CheckRun struct {
	Name string `json:"name"`
	// Queries are the PromQL queries each sample asks, rendered when the
	// run started.
	Queries   []Query  `json:"queries"`
	Threshold string   `json:"threshold"`
	Samples   []Sample `json:"samples,omitempty"`
	Verdict   Verdict  `json:"verdict"`
	// Message says why it passed or failed, with the numbers.
	Message string `json:"message,omitempty"`
}

// Query is one named PromQL query of a check ("gray", "stable", …).
type Query struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// Sample is one evaluation of a check's queries.
type Sample struct {
	// At is the evaluation time of the instant queries: the end of the
	// sample's window.
	At time.Time `json:"at"`
	// Values are the queries' answers, in their order; null: no data.
	Values  []*float64 `json:"values"`
	Outcome string     `json:"outcome"`
	// Error is why Prometheus gave no answer, when it did not.
	Error string `json:"error,omitempty"`
}

// Answer is what Prometheus said to one query.
type Answer struct {
	Value float64
	// NoData: the query returned no series, or NaN.
	NoData bool
	// Err is why there is no answer (unreachable, timeout, a query
	// returning several series).
	Err string
}

// Analyzer answers instant queries. It must not block: it returns the
// answer when it has it (ok) and otherwise starts asking and reports not
// ok, and the caller looks again soon. Answers are kept per query and time.
type Analyzer interface {
	Query(expr string, at time.Time) (a Answer, ok bool)
}

// Checker checks rendered rule files the way Prometheus loads them
// (alert.Checker; internal/alert/prom's promtool): a custom query is parsed
// before it is saved.
type Checker interface {
	CheckRules(ctx context.Context, file []byte) error
}

// Custom reports whether some check of checks is a custom query, which
// Prometheus evaluates over every tenant's series: saving one takes the
// platform's alert:write-custom, as a custom alert rule does.
func Custom(checks []Check) bool {
	for _, c := range checks {
		if c.Query != "" {
			return true
		}
	}
	return false
}
