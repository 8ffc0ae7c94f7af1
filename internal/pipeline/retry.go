package pipeline

import (
	"context"
	"fmt"
	"slices"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// retryFrom returns the index of the step a retry of r from step (empty:
// the failed step) starts at, or why r cannot be retried from there.
// The executor's steps (clone, build, push) run as one, so a retry of
// any of them starts at clone.
func retryFrom(r *Run, step string) (int, error) {
	failed := slices.IndexFunc(r.Steps, func(s Step) bool { return s.State == Failed })
	if r.State != Failed || failed < 0 {
		return 0, resource.Refused("run %d is %s; only a run failed at a step can be retried", r.Number, r.State)
	}
	if r.rejected(r.Steps[failed].Name) {
		return 0, resource.Refused("stage %s of run %d was rejected: a rejection is final, trigger a new run", r.Steps[failed].Name, r.Number)
	}
	from := failed
	if step != "" {
		st, i := r.Step(step)
		if st == nil || i > failed {
			var errs resource.Errors
			errs.Add("step", "run %d has no step %q at or before its failed step %s", r.Number, step, r.Steps[failed].Name)
			return 0, errs.Err()
		}
		from = i
	}
	if slices.Contains([]string{StepClone, StepBuild, StepPush}, r.Steps[from].Name) {
		from = 0
	}
	if _, v := r.Step(StepVersion); r.Version != "" && from <= v {
		return 0, resource.Refused("run %d delivered version %s, which is immutable; retry from a later step or trigger a new run", r.Number, r.Version)
	}
	return from, nil
}

// rejected reports whether stage's latest decision is a rejection.
func (r *Run) rejected(stage string) bool {
	for i := len(r.Decisions) - 1; i >= 0; i-- {
		if d := r.Decisions[i]; d.Stage == stage && (d.Verdict == Approved || d.Verdict == Rejected) {
			return d.Verdict == Rejected
		}
	}
	return false
}

// Retry queues failed run k again from step (empty: the step that
// failed): that step and the ones after it are pending again, the run
// gets a new deadline, approvals of the stages it runs again no longer
// count, and whoever retries is recorded — they may not approve the
// run's stages (four eyes). The commit stays the run's; a run that
// delivered its version is retried only after that version's step.
func (s *Service) Retry(ctx context.Context, tx Tx, a audit.Actor, k RunKey, step, reason string) (Run, error) {
	var errs resource.Errors
	errs.CheckLen("reason", reason, 1000)
	errs.CheckLen("step", step, 100)
	if err := errs.Err(); err != nil {
		return Run{}, err
	}
	r, err := tx.GetRun(ctx, k)
	if err != nil {
		return Run{}, fmt.Errorf("run %d of %s: %w", k.Number, k.Name, err)
	}
	from, err := retryFrom(&r, step)
	if err != nil {
		return Run{}, err
	}
	prev, now := r.ResourceVersion, s.now()
	failed := r.Steps[slices.IndexFunc(r.Steps, func(s Step) bool { return s.State == Failed })]
	for i := from; i < len(r.Steps); i++ {
		st := &r.Steps[i]
		*st = Step{Name: st.Name, Stage: st.Stage, Owner: st.Owner, State: Pending, Attempt: st.Attempt + 1}
	}
	if from == 0 {
		r.Image, r.Digest = "", ""
	}
	r.Decisions = append(r.Decisions, Decision{Stage: r.Steps[from].Name, Verdict: Retry, By: a.User, Reason: reason, At: now})
	r.State, r.EndedAt, r.Deadline, r.CancelRequested = Queued, nil, nil, false
	r.Message = fmt.Sprintf("retried by %s from step %s", a.User, r.Steps[from].Name)
	r.ResourceVersion++
	if err := s.audit(ctx, tx, a, k.Key, "pipeline.retry", r.Path(), fmt.Sprintf("run %d retried by %s from step %s (step %s had failed: %s): %s",
		k.Number, a.User, r.Steps[from].Name, failed.Name, failed.Message, orNone(reason))); err != nil {
		return Run{}, err
	}
	if err := tx.UpdateRun(ctx, r, prev); err != nil {
		return Run{}, err
	}
	s.announce(tx, k)
	return r, nil
}

// retriedBy reports whether user retried r.
func (r *Run) retriedBy(user string) bool {
	return slices.ContainsFunc(r.Decisions, func(d Decision) bool { return d.Verdict == Retry && d.By == user })
}
