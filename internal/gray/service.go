package gray

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
)

// MaxKeepOld bounds how long a promoted plan keeps the old version.
const MaxKeepOld = 7 * 24 * time.Hour

// Service applies gray's rules. It is safe for concurrent use.
type Service struct {
	clock   clock.Clock
	deploy  *deploy.Service
	headers Headers
	changes *change.Bus
	// analyzer answers steps' metric checks and checker parses their
	// custom queries (SetAnalysis); without an analyzer a plan with
	// checks is refused.
	analyzer analysis.Analyzer
	checker  analysis.Checker
}

// SetAnalysis has steps' metric checks answered by a (Prometheus) and
// their custom queries parsed by c; call it before use.
func (s *Service) SetAnalysis(a analysis.Analyzer, c analysis.Checker) { s.analyzer, s.checker = a, c }

// NewService returns a Service reading time from c, changing deployments'
// versions through d (promotion, switch back) and compiling rules with the
// org headers h. notify, if set, hears of every plan that changed, once the
// change has committed; it must not block.
func NewService(c clock.Clock, d *deploy.Service, h Headers, changes *change.Bus) *Service {
	return &Service{clock: c, deploy: d, headers: h, changes: changes}
}

// Headers returns the org headers plans compile against.
func (s *Service) Headers() Headers { return s.headers }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// Start begins spec's plan: the deployment's current version becomes the
// plan's stable version and spec.GrayVersion runs beside it, reached by the
// cohorts of the steps up to spec.Step (canary) or by spec.Side
// (blue-green). A finished plan of the same application is replaced; a
// running or promoted one is a conflict.
func (s *Service) Start(ctx context.Context, st Store, a audit.Actor, spec Plan) (Plan, error) {
	spec.Group = "" // groups start through Groups
	return s.start(ctx, st, a, spec)
}

func (s *Service) start(ctx context.Context, st Store, a audit.Actor, spec Plan) (Plan, error) {
	k := spec.Key()
	if err := checkKey(k); err != nil {
		return Plan{}, err
	}
	if spec.Strategy == "" {
		spec.Strategy = Canary
	}
	if spec.Strategy == BlueGreen && spec.Side == "" {
		spec.Side = "gray"
	}
	if err := validateSpec(spec); err != nil {
		return Plan{}, err
	}
	if err := s.checkAnalysis(ctx, spec.Steps); err != nil {
		return Plan{}, err
	}
	spec.Analysis = nil
	what := "start gray plan " + Path(k)
	steps, err := s.resolve(ctx, st, k.Tenant, spec.Steps)
	if err != nil {
		return Plan{}, err
	}
	spec.Steps = steps
	d, err := st.GetDeployment(ctx, k)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: deployment of %s in %s: %w", what, k.Application, k.Environment, err)
	}
	if d.Deleting {
		return Plan{}, resource.Refused("%s: the deployment is being deleted", what)
	}
	if err := s.checkVersions(ctx, st, k, d.Version, spec.GrayVersion); err != nil {
		return Plan{}, err
	}
	old, err := st.GetPlan(ctx, k)
	exists := err == nil
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if exists && old.Phase.Active() {
		return Plan{}, resource.Refused("%s: the plan for version %s is %s%s; promote, abort or end it first", what, old.GrayVersion, old.Phase, groupOf(old))
	}
	now := s.now()
	p := spec
	p.StableVersion, p.Phase, p.KeepOldUntil, p.Reason = d.Version, Running, nil, ""
	p.Generation, p.ResourceVersion, p.Applied = 1, 1, Applied{}
	p.CreatedBy, p.CreatedAt, p.UpdatedAt = a.User, now, now
	if exists {
		// Keep the inventory (the controller prunes from it) and, of the
		// serving versions, only the stable one: the old plan's other
		// version is gone or going.
		p.Generation, p.ResourceVersion, p.Applied = old.Generation+1, old.ResourceVersion+1, old.Applied
		p.Applied.Serving = nil
		if slices.Contains(old.Applied.Serving, d.Version) {
			p.Applied.Serving = []string{d.Version}
		}
		err = st.UpdatePlan(ctx, p, old.ResourceVersion)
	} else {
		err = st.CreatePlan(ctx, p)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := s.deploy.Reserve(ctx, st, k); err != nil {
		return Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	return p, s.changed(ctx, st, a, p, "grayplan.start", fmt.Sprintf("started gray plan of %s in %s: %s beside %s, %s",
		k.Application, k.Environment, p.GrayVersion, p.StableVersion, p.Rules(s.headers)))
}

// checkVersions refuses a gray version that is the stable one, does not
// exist, or does not serve the ports the stable one serves (the route would
// have nowhere to send gray traffic).
func (s *Service) checkVersions(ctx context.Context, st Store, k deploy.Key, stable, gray string) error {
	if gray == stable {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "grayVersion",
			Reason: fmt.Sprintf("version %s is already the stable version of %s in %s", gray, k.Application, k.Environment)}}}
	}
	sv, err := st.GetVersion(ctx, k.Tenant, k.Project, k.Application, stable)
	if err != nil {
		return fmt.Errorf("stable version %s: %w", stable, err)
	}
	gv, err := st.GetVersion(ctx, k.Tenant, k.Project, k.Application, gray)
	if errors.Is(err, resource.ErrNotFound) {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "grayVersion",
			Reason: fmt.Sprintf("application %s has no version %s", k.Application, gray)}}}
	}
	if err != nil {
		return fmt.Errorf("gray version %s: %w", gray, err)
	}
	for _, p := range sv.Orchestration.Ports {
		if !hasPort(gv, p.Name) {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "grayVersion",
				Reason: fmt.Sprintf("version %s does not serve port %q that the stable version %s serves", gray, p.Name, stable)}}}
		}
	}
	return nil
}

func hasPort(v apps.Version, name string) bool {
	for _, p := range v.Orchestration.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

// resolve turns the names of org units in steps into their codes.
func (s *Service) resolve(ctx context.Context, st Store, tenant string, steps []Step) ([]Step, error) {
	dir, err := st.ListOrgUnits(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("org directory of %s: %w", tenant, err)
	}
	return resolve(dir, steps)
}

func checkKey(k deploy.Key) error {
	var errs resource.Errors
	errs.CheckName("tenant", k.Tenant)
	errs.CheckName("project", k.Project)
	errs.CheckName("environment", k.Environment)
	errs.CheckName("application", k.Application)
	return errs.Err()
}

// Step moves a running canary plan to step to, or to the next step when to
// is nil.
func (s *Service) Step(ctx context.Context, st Store, a audit.Actor, k deploy.Key, to *int) (Plan, error) {
	return s.step(ctx, st, a, k, "", to)
}

func (s *Service) step(ctx context.Context, st Store, a audit.Actor, k deploy.Key, group string, to *int) (Plan, error) {
	return s.modify(ctx, st, a, k, group, "grayplan.step", func(p *Plan) (string, error) {
		if p.Phase != Running || p.Strategy != Canary {
			return "", resource.Refused("only a running canary plan has steps; this one is %s %s", p.Phase, p.Strategy)
		}
		next := p.Step + 1
		if to != nil {
			next = *to
		}
		if next < 0 || next >= len(p.Steps) {
			return "", &resource.ValidationError{Fields: []resource.FieldError{{Path: "step",
				Reason: fmt.Sprintf("want a step between 0 and %d, got %d (at the last step, promote)", len(p.Steps)-1, next)}}}
		}
		p.Step, p.Analysis = next, nil
		return fmt.Sprintf("moved to step %d of %d", next+1, len(p.Steps)), nil
	})
}

// Change is an edit of a running plan; nil fields stay as they are.
type Change struct {
	Steps        *[]Step `json:"steps,omitempty"`
	Step         *int    `json:"step,omitempty"`
	Side         *string `json:"side,omitempty"`
	GrayReplicas *int32  `json:"grayReplicas,omitempty"`
}

// Set edits a running plan: its steps (e.g. one more teller), its current
// step, a blue-green plan's side, or the gray replica count.
func (s *Service) Set(ctx context.Context, st Store, a audit.Actor, k deploy.Key, c Change) (Plan, error) {
	return s.set(ctx, st, a, k, "", c)
}

func (s *Service) set(ctx context.Context, st Store, a audit.Actor, k deploy.Key, group string, c Change) (Plan, error) {
	return s.modify(ctx, st, a, k, group, "grayplan.set", func(p *Plan) (string, error) {
		if p.Phase != Running {
			return "", resource.Refused("only a running plan can be changed; this one is %s", p.Phase)
		}
		if c.Steps != nil {
			steps, err := s.resolve(ctx, st, k.Tenant, *c.Steps)
			if err != nil {
				return "", err
			}
			if err := s.checkAnalysis(ctx, steps); err != nil {
				return "", err
			}
			p.Steps, p.Analysis = steps, nil
		}
		if c.Step != nil {
			p.Step, p.Analysis = *c.Step, nil
		}
		if c.Side != nil {
			p.Side = *c.Side
		}
		if c.GrayReplicas != nil {
			p.GrayReplicas = c.GrayReplicas
		}
		if err := validateSpec(*p); err != nil {
			return "", err
		}
		return "changed", nil
	})
}

// Promote makes the gray version the deployment's version. With keepOld > 0
// the old version keeps running, unrouted, until then, so Abort switches
// back at once; with 0 it is removed and the plan ends.
func (s *Service) Promote(ctx context.Context, st Store, a audit.Actor, k deploy.Key, keepOld time.Duration) (Plan, error) {
	return s.promote(ctx, st, a, k, "", keepOld)
}

func (s *Service) promote(ctx context.Context, st Store, a audit.Actor, k deploy.Key, group string, keepOld time.Duration) (Plan, error) {
	if keepOld < 0 || keepOld > MaxKeepOld {
		return Plan{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "keepOld",
			Reason: fmt.Sprintf("want a duration between 0 and %s, got %s", MaxKeepOld, keepOld)}}}
	}
	return s.modify(ctx, st, a, k, group, "grayplan.promote", func(p *Plan) (string, error) {
		if p.Phase != Running {
			return "", resource.Refused("only a running plan can be promoted; this one is %s", p.Phase)
		}
		if _, err := s.deploy.Deploy(ctx, st, a, k, p.GrayVersion); err != nil {
			return "", err
		}
		if keepOld == 0 {
			p.Phase = Ended
			return fmt.Sprintf("promoted %s to stable and removed %s", p.GrayVersion, p.StableVersion), nil
		}
		until := s.now().Add(keepOld)
		p.Phase, p.KeepOldUntil = Promoted, &until
		return fmt.Sprintf("promoted %s to stable, keeping %s until %s", p.GrayVersion, p.StableVersion, until.Format(time.RFC3339)), nil
	})
}

// Abort sends everything back to the plan's old stable version and removes
// the gray one: from a running plan at once; from a promoted plan that
// still keeps the old version, by switching the deployment back to it.
func (s *Service) Abort(ctx context.Context, st Store, a audit.Actor, k deploy.Key, reason string) (Plan, error) {
	return s.abort(ctx, st, a, k, "", reason)
}

func (s *Service) abort(ctx context.Context, st Store, a audit.Actor, k deploy.Key, group, reason string) (Plan, error) {
	if len(reason) > 500 {
		return Plan{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "reason", Reason: "at most 500 characters"}}}
	}
	return s.modify(ctx, st, a, k, group, "grayplan.abort", func(p *Plan) (string, error) {
		switch p.Phase {
		case Running:
		case Promoted:
			if !slices.Contains(p.Applied.Serving, p.StableVersion) {
				return "", resource.Refused("the kept copy of %s is not running in full yet, "+
					"so switching back now could drop requests; retry once `berth gray status` shows it serving, or deploy %s", p.StableVersion, p.StableVersion)
			}
			if _, err := s.deploy.Deploy(ctx, st, a, k, p.StableVersion); err != nil {
				return "", err
			}
		default:
			return "", resource.Refused("the plan is %s; deploy the version you want instead", p.Phase)
		}
		from := p.Phase
		p.Phase, p.KeepOldUntil, p.Reason = Aborted, nil, reason
		if from == Promoted {
			return fmt.Sprintf("switched back to %s and removed %s (%s)", p.StableVersion, p.GrayVersion, reasonOr(reason)), nil
		}
		return fmt.Sprintf("aborted: all traffic back to %s, %s removed (%s)", p.StableVersion, p.GrayVersion, reasonOr(reason)), nil
	})
}

// groupOf names p's group, if it has one, for messages.
func groupOf(p Plan) string {
	if p.Group == "" {
		return ""
	}
	return " (gray release of order " + p.Group + ")"
}

func reasonOr(r string) string {
	if r == "" {
		return "no reason given"
	}
	return r
}

// End stops keeping the old version of a promoted plan now.
func (s *Service) End(ctx context.Context, st Store, a audit.Actor, k deploy.Key) (Plan, error) {
	return s.end(ctx, st, a, k, "")
}

func (s *Service) end(ctx context.Context, st Store, a audit.Actor, k deploy.Key, group string) (Plan, error) {
	return s.modify(ctx, st, a, k, group, "grayplan.end", func(p *Plan) (string, error) {
		if p.Phase != Promoted {
			return "", resource.Refused("only a promoted plan ends; this one is %s (promote or abort it)", p.Phase)
		}
		p.Phase, p.KeepOldUntil = Ended, nil
		return fmt.Sprintf("ended: %s removed", p.StableVersion), nil
	})
}

// Expire ends k's plan if it is promoted and its keep-old time has passed
// at now; it reports whether it did.
func (s *Service) Expire(ctx context.Context, st Store, k deploy.Key, now time.Time) (bool, error) {
	p, err := st.GetPlan(ctx, k)
	if err != nil {
		return false, fmt.Errorf("expire %s: %w", Path(k), err)
	}
	if p.Phase != Promoted || p.KeepOldUntil == nil || now.Before(*p.KeepOldUntil) {
		return false, nil
	}
	_, err = s.modify(ctx, st, audit.System, k, p.Group, "grayplan.end", func(p *Plan) (string, error) {
		p.Phase, p.KeepOldUntil = Ended, nil
		return fmt.Sprintf("keep-old time over: %s removed", p.StableVersion), nil
	})
	return err == nil, err
}

// Demand is what k's plan holds against quota beside the deployment's own
// pods: the gray version at its replica count while running, the old
// version at the deployment's while a promotion keeps it. It implements
// deploy.Service.ExtraDemand; st must be a gray.Store to hold plans.
func (s *Service) Demand(ctx context.Context, st deploy.Store, k deploy.Key) (resource.List, error) {
	gs, ok := st.(Store)
	if !ok {
		return resource.List{}, nil
	}
	p, err := gs.GetPlan(ctx, k)
	if errors.Is(err, resource.ErrNotFound) {
		return resource.List{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gray plan of %s: %w", k.Application, err)
	}
	other := p.Other()
	if other == "" {
		return resource.List{}, nil
	}
	v, err := gs.GetVersion(ctx, k.Tenant, k.Project, k.Application, other)
	if err != nil {
		return nil, fmt.Errorf("version %s of %s: %w", other, k.Application, err)
	}
	if as := v.Orchestration.Autoscaling; as != nil { // the second Deployment runs at a fixed count
		v.Orchestration.Replicas = as.MinReplicas
	}
	v.Orchestration.Autoscaling = nil
	switch {
	case other == p.GrayVersion && p.GrayReplicas != nil:
		v.Orchestration.Replicas = *p.GrayReplicas
	case other != p.GrayVersion:
		if d, err := gs.GetDeployment(ctx, k); err == nil && d.Replicas != nil {
			v.Orchestration.Replicas = *d.Replicas
		}
	}
	return apps.Reservation(v), nil
}

// Get returns k's plan.
func (s *Service) Get(ctx context.Context, st Store, k deploy.Key) (Plan, error) {
	p, err := st.GetPlan(ctx, k)
	if err != nil {
		return Plan{}, fmt.Errorf("gray plan %s: %w", Path(k), err)
	}
	return p, nil
}

// modify changes k's plan by change. group is the release order whose gray
// group makes the change, "" for a change of one plan: a group's plans
// change only together, so one cohort always sees the new version of every
// application of the order.
func (s *Service) modify(ctx context.Context, st Store, a audit.Actor, k deploy.Key, group, action string, change func(*Plan) (string, error)) (Plan, error) {
	if err := checkKey(k); err != nil {
		return Plan{}, err
	}
	what := action + " " + Path(k)
	p, err := st.GetPlan(ctx, k)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case p.Group != "" && group == "":
		verb := strings.TrimPrefix(action, "grayplan.")
		return Plan{}, resource.Refused("gray plan of %s in %s belongs to the gray release of order %s; %s the whole group: berth gray %s --order %s",
			k.Application, k.Environment, p.Group, verb, verb, p.Group)
	case p.Group != group:
		return Plan{}, resource.Refused("gray plan of %s in %s is not part of the gray release of order %s%s", k.Application, k.Environment, group, groupOf(p))
	}
	summary, err := change(&p)
	var re *resource.RefusedError
	if errors.As(err, &re) { // shown to users as is: name the plan
		return Plan{}, resource.Refused("gray plan of %s in %s: %s", k.Application, k.Environment, re.Message)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	prev := p.ResourceVersion
	p.Generation++
	p.ResourceVersion++
	p.UpdatedAt = s.now()
	if err := st.UpdatePlan(ctx, p, prev); err != nil {
		return Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := s.deploy.Reserve(ctx, st, k); err != nil {
		return Plan{}, fmt.Errorf("%s: %w", what, err)
	}
	return p, s.changed(ctx, st, a, p, action, fmt.Sprintf("gray plan of %s in %s %s; routing: %s",
		k.Application, k.Environment, summary, p.Rules(s.headers)))
}

func (s *Service) changed(ctx context.Context, st Store, a audit.Actor, p Plan, action, summary string) error {
	k := p.Key()
	_, err := audit.Append(ctx, st, s.now(), a, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: action,
		Target: Path(k), Summary: summary})
	if err != nil {
		return err
	}
	s.changes.AfterCommit(st, k.Change(change.GrayPlan))
	return nil
}

// RecordApplied records the controller's attempt at generation (ignored
// when the plan has moved past it): on success
// the inventory it applied and the versions whose Services serve, on
// failure why; reason is the Ready condition's (the step that failed, or
// that generation is applied). New generations and failures are audited; a
// change of serving versions is announced like a change of the plan
// (routes follow it).
func (s *Service) RecordApplied(ctx context.Context, st Store, k deploy.Key, generation int64, inventory []byte, serving []string, reason string, applyErr error) error {
	p, err := st.GetPlan(ctx, k)
	if err != nil {
		return fmt.Errorf("record apply of %s: %w", Path(k), err)
	}
	if p.Generation != generation {
		// The plan changed since the controller read it: what it saw is
		// stale (serving versions above all) and the newer generation is
		// already queued.
		return nil
	}
	prevApplied := p.Applied
	p.Applied = Applied{Generation: prevApplied.Generation, Inventory: prevApplied.Inventory, Serving: prevApplied.Serving, At: s.now(),
		Conditions: resource.SetCondition(prevApplied.Conditions, resource.Ready(generation, reason, applyErr, s.now()))}
	ev := audit.Event{Tenant: k.Tenant, Project: k.Project, Target: Path(k), Action: "grayplan.apply"}
	if applyErr != nil {
		p.Applied.Error = applyErr.Error()
		ev.Outcome = audit.Failure
		ev.Summary = fmt.Sprintf("applying generation %d of the gray plan failed: %v", generation, applyErr)
	} else {
		p.Applied.Generation, p.Applied.Inventory, p.Applied.Serving = generation, inventory, serving
		ev.Summary = fmt.Sprintf("applied generation %d of the gray plan (%s) to the cluster", generation, p.Phase)
	}
	prev := p.ResourceVersion
	p.ResourceVersion++
	if err := st.UpdatePlan(ctx, p, prev); err != nil {
		return fmt.Errorf("record apply of %s: %w", Path(k), err)
	}
	if !slices.Equal(prevApplied.Serving, p.Applied.Serving) {
		s.changes.AfterCommit(st, k.Change(change.GrayPlan))
	}
	if applyErr == nil && prevApplied.Generation == generation && prevApplied.Error == "" {
		return nil
	}
	_, err = audit.Append(ctx, st, s.now(), audit.System, ev)
	return err
}
