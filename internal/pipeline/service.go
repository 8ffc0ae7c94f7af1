package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
)

// Sealer encrypts webhook secrets at rest (package seal implements it).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

// Tx is the transaction-bound store the service writes through.
type Tx interface {
	Store
	Notifier
	audit.Writer
	change.Committer
}

// Service keeps pipelines and the state of their runs. Each method runs
// in the caller's transaction, writes its audit record there and
// announces change.Pipeline after commit.
type Service struct {
	clock   clock.Clock
	sealer  Sealer
	changes *change.Bus
}

// NewService returns a service sealing webhook secrets with s.
func NewService(c clock.Clock, s Sealer, changes *change.Bus) *Service {
	return &Service{clock: c, sealer: s, changes: changes}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) audit(ctx context.Context, tx Tx, a audit.Actor, k Key, action, target, summary string) error {
	_, err := audit.Append(ctx, tx, s.now(), a, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: action, Target: target,
		Outcome: audit.Success, Summary: summary})
	return err
}

func (s *Service) announce(tx Tx, k RunKey) {
	s.changes.AfterCommit(tx, change.Changed{Kind: change.Pipeline, Key: change.Key{Tenant: k.Tenant, Project: k.Project, Name: k.Name, Seq: k.Number}})
}

func aad(k Key) []byte { return []byte("pipeline-webhook/" + k.Path()) }

// Applied is what Apply did.
type Applied struct {
	Pipeline Pipeline
	Created  bool
	// Secret is the webhook secret when Apply made one (on creation or
	// when asked to rotate it), shown once; empty otherwise.
	Secret string
}

// Apply creates p or changes its spec (a new revision); rotate makes a
// new webhook secret. The application, the delivery tier and the stages'
// environments must exist.
func (s *Service) Apply(ctx context.Context, tx Tx, a audit.Actor, p Pipeline, rotate bool) (Applied, error) {
	if err := p.Validate(); err != nil {
		return Applied{}, err
	}
	if err := s.checkRefs(ctx, tx, p); err != nil {
		return Applied{}, err
	}
	cur, err := tx.GetPipeline(ctx, p.Key)
	exists := err == nil
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return Applied{}, fmt.Errorf("pipeline %s: %w", p.Name, err)
	}
	now := s.now()
	p.UpdatedAt, p.UpdatedBy = now, a.User
	out := Applied{Created: !exists}
	if exists {
		p.CreatedAt, p.SealedSecret, p.Revision, p.ResourceVersion = cur.CreatedAt, cur.SealedSecret, cur.Revision+1, cur.ResourceVersion+1
	} else {
		p.CreatedAt, p.Revision, p.ResourceVersion = now, 1, 1
	}
	if !exists || rotate {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		out.Secret = base64.RawURLEncoding.EncodeToString(secret)
		if p.SealedSecret, err = s.sealer.Seal([]byte(out.Secret), aad(p.Key)); err != nil {
			return Applied{}, fmt.Errorf("seal the webhook secret: %w", err)
		}
	}
	action, summary := "pipeline.create", fmt.Sprintf("created pipeline %s of %s (%s build)", p.Name, p.Application, p.Build.Type)
	if exists {
		action, summary = "pipeline.update", fmt.Sprintf("changed pipeline %s to revision %d", p.Name, p.Revision)
		if rotate {
			summary += ", new webhook secret"
		}
	}
	if err := s.audit(ctx, tx, a, p.Key, action, p.Path(), summary); err != nil {
		return Applied{}, err
	}
	if exists {
		err = tx.UpdatePipeline(ctx, p, cur.ResourceVersion)
	} else {
		err = tx.CreatePipeline(ctx, p)
	}
	if err != nil {
		return Applied{}, fmt.Errorf("pipeline %s: %w", p.Name, err)
	}
	out.Pipeline = p
	return out, nil
}

func (s *Service) checkRefs(ctx context.Context, tx Tx, p Pipeline) error {
	var errs resource.Errors
	if _, err := tx.GetApplication(ctx, p.Tenant, p.Project, p.Application); errors.Is(err, resource.ErrNotFound) {
		errs.Add("application", "no application %s in %s/%s", p.Application, p.Tenant, p.Project)
	} else if err != nil {
		return err
	}
	if _, err := tx.GetTier(ctx, p.Delivery.Tier); errors.Is(err, resource.ErrNotFound) {
		errs.Add("delivery.tier", "no resource tier %s", p.Delivery.Tier)
	} else if err != nil {
		return err
	}
	for i, st := range p.Stages {
		if st.Environment == "" {
			continue
		}
		if _, err := tx.GetEnvironment(ctx, p.Tenant, p.Project, st.Environment); errors.Is(err, resource.ErrNotFound) {
			errs.Add(fmt.Sprintf("stages[%d].environment", i), "no environment %s in %s/%s", st.Environment, p.Tenant, p.Project)
		} else if err != nil {
			return err
		}
	}
	return errs.Err()
}

// Delete removes k with its runs; not while a run of it is not ended.
func (s *Service) Delete(ctx context.Context, tx Tx, a audit.Actor, k Key) error {
	p, err := tx.GetPipeline(ctx, k)
	if err != nil {
		return fmt.Errorf("pipeline %s: %w", k.Name, err)
	}
	runs, err := tx.ListRuns(ctx, k, 0, 20)
	if err != nil {
		return err
	}
	for _, r := range runs {
		if !r.State.Ended() {
			return resource.Refused("run %d of pipeline %s is %s: cancel it first", r.Number, k.Name, r.State)
		}
	}
	if err := s.audit(ctx, tx, a, k, "pipeline.delete", k.Path(), "deleted pipeline "+k.Name); err != nil {
		return err
	}
	return tx.DeletePipeline(ctx, k, p.ResourceVersion)
}

// Secret opens k's webhook secret.
func (s *Service) secret(p Pipeline) ([]byte, error) {
	return s.sealer.Open(p.SealedSecret, aad(p.Key))
}

// Trigger queues a run of k at ref (a branch ref) and commit (empty: the
// branch's head when the run clones).
func (s *Service) Trigger(ctx context.Context, tx Tx, a audit.Actor, k Key, trig Trigger, ref, commit string) (Run, error) {
	var errs resource.Errors
	if ref == "" {
		errs.Add("ref", "must name a branch, such as refs/heads/main")
	} else if len(ref) > 256 || !validRef(ref) {
		errs.Add("ref", "must be refs/heads/<branch>, got %q", ref)
	}
	if commit != "" && !commitRE.MatchString(commit) {
		errs.Add("commit", "must be a full commit hash, got %q", commit)
	}
	if err := errs.Err(); err != nil {
		return Run{}, err
	}
	p, err := tx.GetPipeline(ctx, k)
	if err != nil {
		return Run{}, fmt.Errorf("pipeline %s: %w", k.Name, err)
	}
	last, err := tx.LastRunNumber(ctx, k)
	if err != nil {
		return Run{}, err
	}
	r := Run{RunKey: RunKey{Key: k, Number: last + 1}, Spec: p, Trigger: trig, Ref: ref, Commit: commit, State: Queued,
		Steps: plan(p), CreatedAt: s.now(), ResourceVersion: 1}
	r.Spec.SealedSecret = nil
	how := "by " + trig.User
	if trig.Kind == Push {
		how = fmt.Sprintf("by a %s push of %s (delivery %s)", trig.Provider, trig.User, trig.Delivery)
	}
	if err := s.audit(ctx, tx, a, k, "pipeline.trigger", r.Path(), fmt.Sprintf("run %d of pipeline %s queued %s, %s %s (revision %d)",
		r.Number, k.Name, how, ref, shortCommit(commit), p.Revision)); err != nil {
		return Run{}, err
	}
	if err := tx.CreateRun(ctx, r); err != nil {
		return Run{}, fmt.Errorf("run %d: %w", r.Number, err)
	}
	s.announce(tx, r.RunKey)
	return r, nil
}

func validRef(ref string) bool {
	b, ok := cutHeads(ref)
	return ok && b != "" && relPath(b) && !slices.ContainsFunc([]rune(b), func(c rune) bool { return c <= ' ' || c == '~' || c == '^' || c == ':' || c == '\\' })
}

func cutHeads(ref string) (string, bool) {
	const p = "refs/heads/"
	if len(ref) <= len(p) || ref[:len(p)] != p {
		return "", false
	}
	return ref[len(p):], true
}

func shortCommit(c string) string {
	if c == "" {
		return "(branch head)"
	}
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// Receive verifies a push webhook of k (headers and body as received,
// body already bounded) and queues a run when the pushed branch matches:
// ErrBadSignature for a missing or wrong signature, resource.ErrAlreadyExists
// for a delivery ID seen before (a replay), ErrNotAPush for other events.
// The returned run is zero when the branch does not match (audited as
// ignored).
func (s *Service) Receive(ctx context.Context, tx Tx, a audit.Actor, k Key, h Headers, body []byte) (Run, error) {
	p, err := tx.GetPipeline(ctx, k)
	if err != nil {
		return Run{}, fmt.Errorf("pipeline %s: %w", k.Name, err)
	}
	secret, err := s.secret(p)
	if err != nil {
		return Run{}, fmt.Errorf("open the webhook secret of %s: %w", k.Name, err)
	}
	push, err := Verify(p.Webhook.Provider, h, body, secret)
	if err != nil {
		return Run{}, err
	}
	if err := tx.RecordDelivery(ctx, k, string(push.Provider)+":"+push.Delivery, s.now()); err != nil {
		if errors.Is(err, resource.ErrAlreadyExists) {
			return Run{}, fmt.Errorf("delivery %s was received before (a replay): %w", push.Delivery, resource.ErrAlreadyExists)
		}
		return Run{}, err
	}
	a.User = push.Pusher
	if !p.Source.Matches(push.Ref) {
		return Run{}, s.audit(ctx, tx, a, k, "pipeline.webhook", k.Path(),
			fmt.Sprintf("push of %s to %s ignored: no branch rule of %s matches (delivery %s)", push.Pusher, push.Ref, k.Name, push.Delivery))
	}
	return s.Trigger(ctx, tx, a, k, Trigger{Kind: Push, User: push.Pusher, Provider: push.Provider, Delivery: push.Delivery}, push.Ref, push.Commit)
}

// Approve approves the waiting stage of run k: approver must be the
// stage's owner (or hold its owner role at the project, as bindings say),
// and neither the run's trigger nor the pipeline's last author (four
// eyes; no admin override). The run is queued to go on.
func (s *Service) Approve(ctx context.Context, tx Tx, a audit.Actor, bindings []authz.Binding, k RunKey, stage, reason string) (Run, error) {
	return s.decide(ctx, tx, a, bindings, k, stage, Approved, reason)
}

// Reject rejects the waiting stage of run k; the run fails. The same
// people may reject as may approve; a reason is required.
func (s *Service) Reject(ctx context.Context, tx Tx, a audit.Actor, bindings []authz.Binding, k RunKey, stage, reason string) (Run, error) {
	return s.decide(ctx, tx, a, bindings, k, stage, Rejected, reason)
}

func (s *Service) decide(ctx context.Context, tx Tx, a audit.Actor, bindings []authz.Binding, k RunKey, stage string, v Verdict, reason string) (Run, error) {
	var errs resource.Errors
	errs.CheckLen("reason", reason, 1000)
	if v == Rejected && reason == "" {
		errs.Add("reason", "a rejection needs a reason")
	}
	if err := errs.Err(); err != nil {
		return Run{}, err
	}
	r, err := tx.GetRun(ctx, k)
	if err != nil {
		return Run{}, fmt.Errorf("run %d of %s: %w", k.Number, k.Name, err)
	}
	step, _ := r.Step(stage)
	if step == nil || step.Stage == BuildStage {
		errs.Add("stage", "run %d has no stage %q that takes approvals", k.Number, stage)
		return Run{}, errs.Err()
	}
	if r.State != Waiting || step.State != Waiting {
		return Run{}, resource.Refused("stage %s of run %d is %s, not waiting for an approval", stage, k.Number, step.State)
	}
	if err := mayDecide(r, step.Owner, a.User, bindings); err != nil {
		return Run{}, err
	}
	now := s.now()
	prev := r.ResourceVersion
	r.Decisions = append(r.Decisions, Decision{Stage: stage, Verdict: v, By: a.User, Reason: reason, At: now})
	if v == Approved {
		r.State, step.State, step.Message = Queued, Pending, "approved by "+a.User
	} else {
		step.State, step.Message, step.EndedAt = Failed, "rejected by "+a.User+": "+reason, &now
		s.end(&r, Failed, fmt.Sprintf("stage %s rejected by %s: %s", stage, a.User, reason), now)
	}
	r.ResourceVersion++
	if err := s.audit(ctx, tx, a, k.Key, "pipeline."+map[Verdict]string{Approved: "approve", Rejected: "reject"}[v], r.Path(),
		fmt.Sprintf("stage %s of run %d %s by %s: %s", stage, k.Number, v, a.User, orNone(reason))); err != nil {
		return Run{}, err
	}
	if err := s.notify(ctx, tx, Waiting, r); err != nil {
		return Run{}, err
	}
	if err := tx.UpdateRun(ctx, r, prev); err != nil {
		return Run{}, err
	}
	s.announce(tx, k)
	return r, nil
}

func orNone(s string) string {
	if s == "" {
		return "(no reason given)"
	}
	return s
}

// mayDecide refuses user's decision on a stage owned by owner of run r:
// four eyes first (not the trigger, not the pipeline's last author), then
// ownership. Platform admins are held to both.
func mayDecide(r Run, owner Owner, user string, bindings []authz.Binding) error {
	switch {
	case user == r.Trigger.User:
		return resource.Forbidden("four eyes: %s triggered run %d and cannot approve or reject its stages", user, r.Number)
	case user == r.Spec.UpdatedBy:
		return resource.Forbidden("four eyes: %s last changed pipeline %s (revision %d) and cannot approve or reject its runs", user, r.Name, r.Spec.Revision)
	case r.retriedBy(user):
		return resource.Forbidden("four eyes: %s retried run %d and cannot approve or reject its stages", user, r.Number)
	case owner.User != "" && owner.User != user:
		return resource.Forbidden("the stage is owned by user %s; %s cannot decide on it", owner.User, user)
	case owner.Group != "" && !holds(bindings, owner.Group, authz.Scope{Tenant: r.Tenant, Project: r.Project}):
		return resource.Forbidden("the stage is owned by group %s (that role at %s/%s); %s does not hold it", owner.Group, r.Tenant, r.Project, user)
	}
	return nil
}

func holds(bindings []authz.Binding, role authz.Role, at authz.Scope) bool {
	for _, b := range bindings {
		if b.Role == role && b.Scope.Contains(at) {
			return true
		}
	}
	return false
}

// Cancel cancels run k: a queued or waiting run ends at once; a running
// one is marked and its runner stops the step and ends it.
func (s *Service) Cancel(ctx context.Context, tx Tx, a audit.Actor, k RunKey, reason string) (Run, error) {
	var errs resource.Errors
	errs.CheckLen("reason", reason, 1000)
	if err := errs.Err(); err != nil {
		return Run{}, err
	}
	r, err := tx.GetRun(ctx, k)
	if err != nil {
		return Run{}, fmt.Errorf("run %d of %s: %w", k.Number, k.Name, err)
	}
	if r.State.Ended() {
		return Run{}, resource.Refused("run %d has ended %s", k.Number, r.State)
	}
	now := s.now()
	prev := r.ResourceVersion
	r.Decisions = append(r.Decisions, Decision{Verdict: Cancel, By: a.User, Reason: reason, At: now})
	if r.State == Running {
		r.CancelRequested = true
	} else {
		s.end(&r, Cancelled, "cancelled by "+a.User+": "+orNone(reason), now)
	}
	r.ResourceVersion++
	if err := s.audit(ctx, tx, a, k.Key, "pipeline.cancel", r.Path(), fmt.Sprintf("run %d cancelled by %s: %s", k.Number, a.User, orNone(reason))); err != nil {
		return Run{}, err
	}
	if err := tx.UpdateRun(ctx, r, prev); err != nil {
		return Run{}, err
	}
	s.announce(tx, k)
	return r, nil
}

// end ends r in state st: every step not ended is skipped (a running or
// waiting one takes st).
func (s *Service) end(r *Run, st State, msg string, now time.Time) {
	for i := range r.Steps {
		switch r.Steps[i].State {
		case Running, Waiting:
			r.Steps[i].State, r.Steps[i].EndedAt = st, &now
		case Pending:
			r.Steps[i].State = Skipped
		}
	}
	r.State, r.Message, r.EndedAt = st, msg, &now
}
