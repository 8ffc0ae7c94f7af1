package slo

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Store is what the SLO service keeps, bound to one transaction.
type Store interface {
	CreateSLO(ctx context.Context, s SLO) error
	GetSLO(ctx context.Context, tenant, project, name string) (SLO, error)
	UpdateSLO(ctx context.Context, s SLO, prevRV int64) error
	DeleteSLO(ctx context.Context, tenant, project, name string) error
	// ListSLOs lists a project's SLOs by name; AllSLOs every project's, by
	// tenant, project and name.
	ListSLOs(ctx context.Context, tenant, project string) ([]SLO, error)
	AllSLOs(ctx context.Context) ([]SLO, error)
}

// Tx is the store the service writes through.
type Tx interface {
	Store
	GetEnvironment(ctx context.Context, tenant, project, name string) (tenancy.Environment, error)
	GetApplication(ctx context.Context, tenant, project, name string) (apps.Application, error)
	audit.Writer
	change.Committer
}

// Service keeps SLOs. Each change is audited in the caller's transaction
// and announced as a change of the project's alerting (change.Alert) after
// commit, which has internal/alert/prom publish the rule files again.
type Service struct {
	clock   clock.Clock
	changes *change.Bus
	checker alert.Checker
}

// NewService returns the service; checker checks the rendered rules
// (promtool; nil: Validate only).
func NewService(c clock.Clock, changes *change.Bus, checker alert.Checker) *Service {
	return &Service{clock: c, changes: changes, checker: checker}
}

// Place returns where s's environment runs.
func Place(ctx context.Context, st Tx, s SLO) (alert.Place, error) {
	env, err := st.GetEnvironment(ctx, s.Tenant, s.Project, s.Environment)
	if errors.Is(err, resource.ErrNotFound) {
		var errs resource.Errors
		errs.Add("environment", "project %s/%s has no environment %q", s.Tenant, s.Project, s.Environment)
		return alert.Place{}, errs.Err()
	}
	if err != nil {
		return alert.Place{}, fmt.Errorf("environment %s: %w", s.Environment, err)
	}
	return alert.Place{Cluster: env.Cluster, Namespace: env.Namespace}, nil
}

// Put creates s, or replaces the SLO of its name (s.ResourceVersion, when
// not 0, must be the stored one). It validates s, that its environment and
// application exist, and that Prometheus loads its rules as rendered.
func (v *Service) Put(ctx context.Context, st Tx, a audit.Actor, s SLO) (SLO, bool, error) {
	if err := s.Validate(); err != nil {
		return SLO{}, false, err
	}
	place, err := Place(ctx, st, s)
	if err != nil {
		return SLO{}, false, err
	}
	if _, err := st.GetApplication(ctx, s.Tenant, s.Project, s.Application); errors.Is(err, resource.ErrNotFound) {
		var errs resource.Errors
		errs.Add("application", "project %s/%s has no application %q", s.Tenant, s.Project, s.Application)
		return SLO{}, false, errs.Err()
	} else if err != nil {
		return SLO{}, false, fmt.Errorf("application %s: %w", s.Application, err)
	}
	if err := v.check(ctx, s, place); err != nil {
		return SLO{}, false, err
	}
	old, err := st.GetSLO(ctx, s.Tenant, s.Project, s.Name)
	created := errors.Is(err, resource.ErrNotFound)
	if err != nil && !created {
		return SLO{}, false, fmt.Errorf("slo %s: %w", s.Name, err)
	}
	now := v.clock.Now().UTC()
	s.UpdatedAt = now
	if created {
		l, err := st.ListSLOs(ctx, s.Tenant, s.Project)
		if err != nil {
			return SLO{}, false, fmt.Errorf("count slos of %s/%s: %w", s.Tenant, s.Project, err)
		}
		if len(l) >= MaxSLOsPerProject {
			return SLO{}, false, resource.Refused("project %s/%s has %d SLOs, the most it may have", s.Tenant, s.Project, len(l))
		}
		s.CreatedAt, s.ResourceVersion = now, 1
		if err := st.CreateSLO(ctx, s); err != nil {
			return SLO{}, false, fmt.Errorf("create slo %s: %w", s.Name, err)
		}
	} else {
		prev := old.ResourceVersion
		if s.ResourceVersion != 0 && s.ResourceVersion != prev {
			return SLO{}, false, fmt.Errorf("slo %s: %w", s.Name, resource.ErrConflict)
		}
		s.CreatedAt, s.ResourceVersion = old.CreatedAt, prev+1
		if err := st.UpdateSLO(ctx, s, prev); err != nil {
			return SLO{}, false, fmt.Errorf("update slo %s: %w", s.Name, err)
		}
	}
	action := map[bool]string{true: "create", false: "update"}[created]
	v.changes.AfterCommit(st, alert.Changed(s.Tenant, s.Project))
	return s, created, v.audit(ctx, st, a, s, "slo."+action, fmt.Sprintf("%sd SLO %s of %s in %s: %s", action, s.Name, s.Application, s.Environment, s.describe()))
}

// describe is s in the audit trail's words.
func (s SLO) describe() string {
	d := fmt.Sprintf("%s %v%% over %s", s.Kind, s.Objective, cmpWindow(s.Window))
	if s.Kind == Latency {
		d += " within " + s.Threshold
	}
	return d
}

// check renders s alone and has the checker load it as Prometheus would.
func (v *Service) check(ctx context.Context, s SLO, place alert.Place) error {
	if v.checker == nil {
		return nil
	}
	file, err := alert.RuleFile(s.Tenant+"/"+s.Project, nil, s.Rules(place), nil)
	if err != nil {
		return fmt.Errorf("render slo %s: %w", s.Name, err)
	}
	err = v.checker.CheckRules(ctx, file)
	var refused *alert.RefusedError
	if !errors.As(err, &refused) {
		return err
	}
	var errs resource.Errors
	errs.Add("objective", "Prometheus refuses the SLO's rules: %s", refused.Reason)
	return errs.Err()
}

// Delete deletes an SLO.
func (v *Service) Delete(ctx context.Context, st Tx, a audit.Actor, tenant, project, name string) error {
	s, err := st.GetSLO(ctx, tenant, project, name)
	if err != nil {
		return fmt.Errorf("slo %s: %w", name, err)
	}
	if err := st.DeleteSLO(ctx, tenant, project, name); err != nil {
		return fmt.Errorf("delete slo %s: %w", name, err)
	}
	v.changes.AfterCommit(st, alert.Changed(tenant, project))
	return v.audit(ctx, st, a, s, "slo.delete", "deleted SLO "+name)
}

func (v *Service) audit(ctx context.Context, st Tx, a audit.Actor, s SLO, action, summary string) error {
	_, err := audit.Append(ctx, st, v.clock.Now(), a, audit.Event{Tenant: s.Tenant, Project: s.Project, Action: action, Target: s.Path(), Summary: summary})
	return err
}
