package pipeline

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// # Progress
//
// The runner moves a run through its steps with the methods below, each
// in a transaction of its own, written before the step it announces runs
// (a crash leaves a run whose state says how far it got). Their audit
// records name the actor "system" with the pipeline as role: the
// accountable people are the run's trigger and the stages' owners and
// deciders, recorded in the run.

// Runner is the actor of the runner's records.
func Runner(k Key) audit.Actor {
	return audit.Actor{User: audit.System.User, Roles: []string{"pipeline@" + k.Tenant + "/" + k.Project + "/" + k.Name}}
}

// update loads run k, applies fn, and writes it with fn's audit record
// (none when fn returns an empty action).
func (s *Service) update(ctx context.Context, tx Tx, k RunKey, fn func(r *Run, now time.Time) (action, summary string, err error)) (Run, error) {
	r, err := tx.GetRun(ctx, k)
	if err != nil {
		return Run{}, fmt.Errorf("run %d of %s: %w", k.Number, k.Name, err)
	}
	prev, before := r.ResourceVersion, r.State
	action, summary, err := fn(&r, s.now())
	if err != nil {
		return Run{}, err
	}
	if action != "" {
		if err := s.audit(ctx, tx, Runner(k.Key), k.Key, action, r.Path(), summary); err != nil {
			return Run{}, err
		}
	}
	if err := s.notify(ctx, tx, before, r); err != nil {
		return Run{}, err
	}
	r.ResourceVersion++
	if err := tx.UpdateRun(ctx, r, prev); err != nil {
		return Run{}, err
	}
	s.announce(tx, k)
	return r, nil
}

// Start moves queued run k to running: its first start sets its deadline.
func (s *Service) Start(ctx context.Context, tx Tx, k RunKey) (Run, error) {
	return s.update(ctx, tx, k, func(r *Run, now time.Time) (string, string, error) {
		if r.State != Queued {
			return "", "", resource.Refused("run %d is %s, not queued", k.Number, r.State)
		}
		r.State, r.Message = Running, ""
		if r.Deadline != nil {
			return "pipeline.resume", fmt.Sprintf("run %d resumed", k.Number), nil
		}
		// The first start, or the first after a retry: a new deadline.
		deadline := now.Add(r.Spec.TimeoutOrDefault())
		r.Deadline = &deadline
		if r.StartedAt == nil {
			r.StartedAt = &now
		}
		return "pipeline.start", fmt.Sprintf("run %d started, deadline %s", k.Number, deadline.Format(time.RFC3339)), nil
	})
}

// BeginStep marks step of run k running.
func (s *Service) BeginStep(ctx context.Context, tx Tx, k RunKey, step string) (Run, error) {
	return s.update(ctx, tx, k, func(r *Run, now time.Time) (string, string, error) {
		st, _ := r.Step(step)
		if st == nil || r.State != Running {
			return "", "", resource.Refused("run %d is %s; step %s cannot begin", k.Number, r.State, step)
		}
		st.State, st.StartedAt, st.EndedAt, st.Message = Running, &now, nil, ""
		return "", "", nil
	})
}

// StepLog is what a step wrote.
type StepLog struct {
	Bytes, Dropped int64
	Tail           string
}

// EndStep records the end of step of run k: succeeded when stepErr is
// nil (msg says what it made), else failed, which fails the run.
func (s *Service) EndStep(ctx context.Context, tx Tx, k RunKey, step string, stepErr error, msg string, log StepLog) (Run, error) {
	return s.update(ctx, tx, k, func(r *Run, now time.Time) (string, string, error) {
		st, _ := r.Step(step)
		if st == nil {
			return "", "", resource.Refused("run %d has no step %s", k.Number, step)
		}
		st.EndedAt, st.LogBytes, st.LogDropped, st.LogTail = &now, log.Bytes, log.Dropped, log.Tail
		if stepErr == nil {
			st.State, st.Message = Succeeded, msg
			return "pipeline.step", fmt.Sprintf("run %d step %s succeeded: %s", k.Number, step, msg), nil
		}
		st.State, st.Message = Failed, clip(stepErr.Error())
		s.end(r, Failed, fmt.Sprintf("step %s failed: %s", step, st.Message), now)
		return "pipeline.step", fmt.Sprintf("run %d step %s failed: %s", k.Number, step, st.Message), nil
	})
}

func clip(s string) string {
	if len(s) > 1000 {
		return s[:1000] + "…"
	}
	return s
}

// Built records what the build pushed (and the commit it cloned, when
// the run named a branch only).
func (s *Service) Built(ctx context.Context, tx Tx, k RunKey, commit string, a Artifact) (Run, error) {
	return s.update(ctx, tx, k, func(r *Run, _ time.Time) (string, string, error) {
		if r.Commit == "" {
			r.Commit = commit
		}
		r.Image, r.Digest = a.Image, a.Digest
		return "", "", nil
	})
}

// Delivered records the application version run k made.
func (s *Service) Delivered(ctx context.Context, tx Tx, k RunKey, version string) (Run, error) {
	return s.update(ctx, tx, k, func(r *Run, _ time.Time) (string, string, error) {
		r.Version = version
		return "", "", nil
	})
}

// Wait parks run k at stage until its owner decides.
func (s *Service) Wait(ctx context.Context, tx Tx, k RunKey, stage string) (Run, error) {
	return s.update(ctx, tx, k, func(r *Run, now time.Time) (string, string, error) {
		st, _ := r.Step(stage)
		if st == nil {
			return "", "", resource.Refused("run %d has no stage %s", k.Number, stage)
		}
		st.State, st.StartedAt = Waiting, &now
		r.State = Waiting
		r.Message = fmt.Sprintf("stage %s waits for an approval by %s (not %s, who triggered the run, nor %s, who last changed the pipeline)",
			stage, st.Owner, r.Trigger.User, r.Spec.UpdatedBy)
		return "pipeline.wait", fmt.Sprintf("run %d: %s", k.Number, r.Message), nil
	})
}

// Finish ends run k in state st (Succeeded, Failed or Cancelled) with msg.
func (s *Service) Finish(ctx context.Context, tx Tx, k RunKey, st State, msg string) (Run, error) {
	return s.update(ctx, tx, k, func(r *Run, now time.Time) (string, string, error) {
		if r.State.Ended() {
			return "", "", resource.Refused("run %d has ended %s", k.Number, r.State)
		}
		s.end(r, st, msg, now)
		return "pipeline.finish", fmt.Sprintf("run %d %s: %s", k.Number, st, msg), nil
	})
}

// Approved reports whether stage of r has an approval that no later
// retry from that stage or an earlier step undid.
func (r *Run) Approved(stage string) bool {
	_, at := r.Step(stage)
	approved := false
	for _, d := range r.Decisions {
		switch _, from := r.Step(d.Stage); {
		case d.Verdict == Approved && d.Stage == stage:
			approved = true
		case d.Verdict == Retry && from >= 0 && from <= at:
			approved = false
		}
	}
	return approved
}
