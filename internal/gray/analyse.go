package gray

import (
	"context"
	"fmt"
	"slices"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// checkAnalysis refuses checks when no Prometheus answers them, and has
// their custom queries parsed.
func (s *Service) checkAnalysis(ctx context.Context, steps []Step) error {
	for i, st := range steps {
		path := fmt.Sprintf("steps[%d].checks", i)
		if len(st.Checks) > 0 && s.analyzer == nil {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: path,
				Reason: "metric checks need the Prometheus Berth queries (berth server --prometheus-url); none is configured"}}}
		}
		if err := analysis.CheckQueries(ctx, s.checker, path, st.Checks); err != nil {
			return err
		}
	}
	return nil
}

// analysing returns the checks of p's current step when they are to run
// now: p is a running canary whose gray version serves at p's generation
// (the gateway routes the step's cohorts to it), and the step's run has
// not ended.
func analysing(p Plan) []analysis.Check {
	if p.Phase != Running || p.Strategy != Canary || p.Step >= len(p.Steps) || len(p.Steps[p.Step].Checks) == 0 {
		return nil
	}
	if p.Applied.Generation != p.Generation || !slices.Contains(p.Applied.Serving, p.GrayVersion) {
		return nil
	}
	if p.Analysis != nil && p.Analysis.Step == p.Step && p.Analysis.Verdict != analysis.Running {
		return nil
	}
	return p.Steps[p.Step].Checks
}

// maxReason bounds the abort reason an analysis writes (the evidence stays
// whole on the plan and in the audit record).
const maxReason = 500

// Analyse runs the metric checks of the current step of k's plan in env,
// in the caller's transaction: it starts the step's run once gray serves
// (audited), records the samples that are due on the plan, and ends the
// run — audited with its evidence — passed, or failed, which aborts the
// plan (a plan of a release order's gray group aborts the whole group) as
// a release manager's abort would, the evidence as its reason. It asks
// Prometheus without blocking and returns how soon it wants to be called
// again (0: nothing to wait for).
func (g *Groups) Analyse(ctx context.Context, st GroupStore, k deploy.Key, env tenancy.Environment) (time.Duration, error) {
	s := g.gray
	p, err := st.GetPlan(ctx, k)
	if err != nil {
		return 0, fmt.Errorf("analyse %s: %w", Path(k), err)
	}
	checks := analysing(p)
	if checks == nil || s.analyzer == nil {
		return 0, nil
	}
	now := s.now()
	started := p.Analysis == nil || p.Analysis.Step != p.Step
	if started {
		p.Analysis = &StepAnalysis{Step: p.Step, Run: *analysis.Start(checks,
			analysis.Subject{Cluster: env.Cluster, Namespace: env.Namespace, Application: k.Application, Version: "gray"}, now)}
	}
	changed, wait := p.Analysis.Advance(checks, s.analyzer, now)
	if !changed && !started {
		return wait, nil
	}
	prev := p.ResourceVersion
	p.ResourceVersion++
	p.UpdatedAt = now
	if err := st.UpdatePlan(ctx, p, prev); err != nil {
		return 0, fmt.Errorf("analyse %s: %w", Path(k), err)
	}
	ev := audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "grayplan.analysis", Target: Path(k)}
	step := fmt.Sprintf("step %d of %d of the gray plan of %s in %s", p.Step+1, len(p.Steps), k.Application, k.Environment)
	switch p.Analysis.Verdict {
	case analysis.Running:
		if !started {
			return wait, nil
		}
		ev.Summary = fmt.Sprintf("%s: %s serves; analysing its metrics", step, p.GrayVersion)
	case analysis.Passed:
		ev.Summary = fmt.Sprintf("%s: metric analysis of %s passed: %s", step, p.GrayVersion, p.Analysis.Evidence())
	case analysis.Failed:
		ev.Outcome = audit.Failure
		ev.Summary = fmt.Sprintf("%s: metric analysis of %s failed, aborting: %s", step, p.GrayVersion, p.Analysis.Evidence())
	}
	if _, err := audit.Append(ctx, st, now, audit.System, ev); err != nil {
		return 0, err
	}
	if p.Analysis.Verdict != analysis.Failed {
		return wait, nil
	}
	reason := truncate("metric analysis failed: "+p.Analysis.Evidence(), maxReason)
	if p.Group != "" {
		_, _, err = g.Abort(ctx, st, audit.System, release.Key{Tenant: k.Tenant, Project: k.Project, ID: p.Group}, reason)
	} else {
		_, err = s.abort(ctx, st, audit.System, k, "", reason)
	}
	return 0, err
}

// truncate cuts s to at most n bytes on a character boundary, marking the
// cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
