package analysis

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// pendingPoll is how soon a run whose answers are being fetched wants to
// be looked at again; errorPoll, one whose last answer was an error.
const (
	pendingPoll = 250 * time.Millisecond
	errorPoll   = time.Second
)

// Start returns the run of checks on s from now: every check's queries
// rendered, no sample yet. It keeps none of its arguments.
func Start(checks []Check, s Subject, now time.Time) *Run {
	r := &Run{StartedAt: now, Verdict: Running}
	for _, c := range checks {
		r.Checks = append(r.Checks, CheckRun{Name: c.Name, Queries: c.Queries(s), Threshold: describe(c), Verdict: Running})
	}
	return r
}

// describe says what passes, for people: "p99 <= 300ms".
func describe(c Check) string {
	switch c.Template {
	case ErrorRate:
		return "error rate <= " + c.Threshold
	case ErrorRateOverStable:
		return "gray error rate <= stable's + " + c.Threshold
	case LatencyP99:
		return "p99 latency <= " + c.Threshold
	}
	t, _ := parseThreshold("", c.Threshold)
	return "value " + t.Op + " " + strconv.FormatFloat(t.Value, 'g', -1, 64)
}

// Advance takes every sample of r that is due at now, asking a, and
// judges the checks (checks are r's, by name). It reports whether r
// changed and how soon it wants to be looked at again (0 once finished).
func (r *Run) Advance(checks []Check, a Analyzer, now time.Time) (changed bool, wait time.Duration) {
	if r.Verdict != Running {
		return false, 0
	}
	wait = time.Hour
	for i := range r.Checks {
		cr := &r.Checks[i]
		c, ok := find(checks, cr.Name)
		if !ok { // the checks changed under the run: nothing to judge it by
			cr.Verdict, cr.Message, changed = Failed, "the check is no longer defined", true
			continue
		}
		ch, w := cr.advance(c, a, r.StartedAt, now)
		changed = changed || ch
		if cr.Verdict == Running {
			wait = min(wait, w)
		}
	}
	r.judge(now)
	if r.Verdict != Running {
		return true, 0
	}
	return changed, wait
}

func find(checks []Check, name string) (Check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// advance takes cr's due samples.
func (cr *CheckRun) advance(c Check, a Analyzer, start, now time.Time) (changed bool, wait time.Duration) {
	iv := c.interval()
	for cr.Verdict == Running {
		at := start.Add(time.Duration(len(cr.Samples)+1) * iv)
		read := at.Add(settle(iv))
		if now.Before(read) {
			return changed, read.Sub(now)
		}
		s, ok := ask(cr.Queries, a, at)
		if !ok {
			return changed, pendingPoll
		}
		if s.Error != "" && now.Before(read.Add(iv)) {
			return changed, errorPoll // retried until the next sample is due
		}
		s.Outcome = outcome(c, s)
		cr.Samples = append(cr.Samples, s)
		changed = true
		cr.judge(c)
	}
	return changed, 0
}

// ask asks every query of a sample at at; ok is false while some answer
// is still being fetched.
func ask(queries []Query, a Analyzer, at time.Time) (Sample, bool) {
	s := Sample{At: at, Values: make([]*float64, len(queries))}
	var errs []string
	for i, q := range queries {
		ans, ok := a.Query(q.Expr, at)
		if !ok {
			return Sample{}, false
		}
		switch {
		case ans.Err != "":
			errs = append(errs, q.Name+": "+ans.Err)
		case !ans.NoData:
			v := ans.Value
			s.Values[i] = &v
		}
	}
	s.Error = strings.Join(errs, "; ")
	return s, true
}

// outcome judges one sample of c.
func outcome(c Check, s Sample) string {
	for _, v := range s.Values {
		if v == nil {
			return SampleNoData
		}
	}
	t, _ := parseThreshold(c.Template, c.Threshold) // validated
	v := *s.Values[0]
	if c.Template == ErrorRateOverStable {
		v -= *s.Values[1] // gray's rate above stable's
	}
	if t.passes(v) {
		return SamplePass
	}
	return SampleFail
}

// judge ends cr once it has failed, or taken all its samples.
func (cr *CheckRun) judge(c Check) {
	var failed, nodata int
	var last *Sample
	for i, s := range cr.Samples {
		switch s.Outcome {
		case SampleFail:
			failed, last = failed+1, &cr.Samples[i]
		case SampleNoData:
			nodata++
		}
	}
	n := c.samples()
	switch {
	case failed > c.FailureLimit:
		cr.Verdict = Failed
		cr.Message = fmt.Sprintf("%d of %d samples failed (%s), the last at %s: %s",
			failed, len(cr.Samples), cr.Threshold, last.At.UTC().Format(time.RFC3339), cr.values(c, *last))
	case len(cr.Samples) < n:
	case nodata > 0 && c.NoData != Pass:
		cr.Verdict = Failed
		cr.Message = fmt.Sprintf("%d of %d samples had no data (no traffic, or Prometheus did not answer), and a check without data fails (noData: fail)", nodata, n)
	case nodata == n:
		cr.Verdict, cr.Message = Passed, fmt.Sprintf("none of %d samples had data; passed as noData: pass says", n)
	default:
		cr.Verdict = Passed
		cr.Message = fmt.Sprintf("%d of %d samples passed (%s)", n-nodata-failed, n, cr.Threshold)
		if nodata > 0 {
			cr.Message += fmt.Sprintf(", %d without data ignored (noData: pass)", nodata)
		}
	}
}

// values shows a sample's values in the check's unit: "gray=2.1%, stable=0.4%".
func (cr *CheckRun) values(c Check, s Sample) string {
	var parts []string
	for i, q := range cr.Queries {
		v := "no data"
		if s.Values[i] != nil {
			v = formatValue(c.Template, *s.Values[i])
		}
		parts = append(parts, q.Name+"="+v)
	}
	return strings.Join(parts, ", ")
}

func formatValue(template string, v float64) string {
	switch template {
	case ErrorRate, ErrorRateOverStable:
		return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
	case LatencyP99:
		return strconv.FormatFloat(v*1000, 'g', 4, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// judge ends r once a check failed or every check passed.
func (r *Run) judge(now time.Time) {
	all := true
	for _, cr := range r.Checks {
		if cr.Verdict == Failed {
			r.Verdict, r.FinishedAt = Failed, &now
			return
		}
		all = all && cr.Verdict == Passed
	}
	if all {
		r.Verdict, r.FinishedAt = Passed, &now
	}
}

// Evidence says, for people and the audit trail, why r failed: the failed
// checks with their numbers and queries; or that it passed.
func (r Run) Evidence() string {
	var parts []string
	for _, cr := range r.Checks {
		if r.Verdict == Failed && cr.Verdict != Failed {
			continue
		}
		p := fmt.Sprintf("check %s %s: %s", cr.Name, strings.ToLower(string(cr.Verdict)), cr.Message)
		if cr.Verdict == Failed {
			var qs []string
			for _, q := range cr.Queries {
				qs = append(qs, q.Name+": "+q.Expr)
			}
			p += "; queries: " + strings.Join(qs, " | ")
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
