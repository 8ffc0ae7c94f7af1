package release

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/internal/analysis"
)

// analyse runs a ready item's metric checks: it starts their run (audited)
// the first time, takes the samples that are due, and ends the item —
// succeeded when every check passed, failed with the run as evidence (an
// AnalysisFailed fault, which turns the order back) when one failed.
// Prometheus is asked without blocking (analysis.Analyzer): an answer not
// in yet only brings the order back soon.
func (e *engine) analyse(ctx context.Context, it *Item) (*Failure, error) {
	if it.Analysis == nil {
		it.Analysis = analysis.Start(it.Checks, analysis.Subject{Cluster: e.env.Cluster, Namespace: e.env.Namespace,
			Application: it.Application}, e.now)
		it.Message = fmt.Sprintf("version %s ready; analysing its metrics (%d checks, up to %s)", it.Version, len(it.Checks),
			analysis.Span(it.Checks).Round(time.Second))
		if err := e.event(ctx, "release.item-analysis", "%s version %s is ready in %s; analysing its metrics: %s",
			it.Application, it.Version, e.o.Environment, checkList(it.Analysis)); err != nil {
			return nil, err
		}
	}
	changed, wait := it.Analysis.Advance(it.Checks, e.analyzer(), e.now)
	if changed {
		e.dirty = true
	}
	switch it.Analysis.Verdict {
	case analysis.Failed:
		return e.fail(ctx, it, Fault{Reason: "AnalysisFailed", Message: it.Analysis.Evidence()})
	case analysis.Passed:
		return nil, e.succeed(ctx, it, "version "+it.Version+" ready, metric analysis passed: "+it.Analysis.Evidence())
	}
	e.soon(wait)
	return nil, nil
}

// analyzer is the service's, or one answering that none is configured
// (an order saved before Prometheus was removed from the configuration):
// its samples have no data, and the checks' no-data policy decides.
func (e *engine) analyzer() analysis.Analyzer {
	if e.s.analyzer == nil {
		return noPrometheus{}
	}
	return e.s.analyzer
}

type noPrometheus struct{}

func (noPrometheus) Query(string, time.Time) (analysis.Answer, bool) {
	return analysis.Answer{Err: "no Prometheus is configured (berth server --prometheus-url)"}, true
}

// checkList names a run's checks and what they pass on.
func checkList(r *analysis.Run) string {
	s := ""
	for i, c := range r.Checks {
		if i > 0 {
			s += ", "
		}
		s += c.Name + " (" + c.Threshold + ")"
	}
	return s
}
