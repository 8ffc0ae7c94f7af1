package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// MaxReplicas bounds a scale request.
const MaxReplicas = 1000

// Service applies deploy's rules. It is safe for concurrent use.
type Service struct {
	clock   clock.Clock
	tenancy *tenancy.Service
	// changes, if set, hears of every deployment whose desired state
	// changed, once the change has committed (the controller wakes on it).
	changes *change.Bus
	// ExtraDemand, if set, is what else a deployment holds against quota
	// beside its own pods: the second version a gray plan runs. It is set
	// once, before use (platform.New).
	ExtraDemand func(ctx context.Context, st Store, k Key) (resource.List, error)
}

// NewService returns a Service reading time from c and reserving quota
// through t. changes may be nil.
func NewService(c clock.Clock, t *tenancy.Service, changes *change.Bus) *Service {
	return &Service{clock: c, tenancy: t, changes: changes}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func checkKey(k Key) error {
	var errs resource.Errors
	errs.CheckName("tenant", k.Tenant)
	errs.CheckName("project", k.Project)
	errs.CheckName("application", k.Application)
	errs.CheckName("environment", k.Environment)
	return errs.Err()
}

// Deploy makes version the one k runs, creating the deployment when it is
// the application's first in that environment. The version must belong to
// the application; its resources must fit the project's and tenant's
// quota. Operator overrides (scale, stop) are kept.
func (s *Service) Deploy(ctx context.Context, st Store, a audit.Actor, k Key, version string) (Deployment, error) {
	if err := checkKey(k); err != nil {
		return Deployment{}, err
	}
	var errs resource.Errors
	errs.CheckName("version", version)
	if err := errs.Err(); err != nil {
		return Deployment{}, err
	}
	what := fmt.Sprintf("deploy %s/%s/%s version %s to %s", k.Tenant, k.Project, k.Application, version, k.Environment)
	if _, err := st.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment); err != nil {
		return Deployment{}, fmt.Errorf("%s: environment %s: %w", what, k.Environment, err)
	}
	if _, err := st.GetVersion(ctx, k.Tenant, k.Project, k.Application, version); err != nil {
		return Deployment{}, fmt.Errorf("%s: version %s of application %s: %w", what, version, k.Application, err)
	}
	d, err := st.GetDeployment(ctx, k)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		now := s.now()
		d = Deployment{Tenant: k.Tenant, Project: k.Project, Application: k.Application, Environment: k.Environment,
			Version: version, Generation: 1, ResourceVersion: 1, CreatedBy: a.User, CreatedAt: now, UpdatedAt: now}
		if err := s.reserve(ctx, st, d); err != nil {
			return Deployment{}, fmt.Errorf("%s: %w", what, err)
		}
		if err := st.CreateDeployment(ctx, d); err != nil {
			return Deployment{}, fmt.Errorf("%s: %w", what, err)
		}
		return d, s.changed(ctx, st, a, d, "deployment.create", fmt.Sprintf("deployed %s version %s to %s", k.Application, version, k.Environment))
	case err != nil:
		return Deployment{}, fmt.Errorf("%s: %w", what, err)
	}
	if d.Deleting {
		return Deployment{}, fmt.Errorf("%s: the deployment is being deleted: %w", what, resource.ErrConflict)
	}
	from := d.Version
	return s.update(ctx, st, a, d, "deployment.deploy", fmt.Sprintf("deployed %s version %s to %s (was %s)", k.Application, version, k.Environment, from),
		func(d *Deployment) error { d.Version = version; return nil })
}

// Restore puts k back to a version with the replica override and stopped
// state it had, in one change: a release order's rollback. It creates the
// deployment if it is gone, so a rollback never depends on what others
// did in between.
func (s *Service) Restore(ctx context.Context, st Store, a audit.Actor, k Key, version string, replicas *int32, stopped bool, why string) (Deployment, error) {
	d, err := s.Deploy(ctx, st, a, k, version)
	if err != nil {
		return Deployment{}, err
	}
	if equalReplicas(d.Replicas, replicas) && d.Stopped == stopped {
		return d, nil
	}
	return s.update(ctx, st, a, d, "deployment.restore", fmt.Sprintf("restored %s in %s: %s", k.Application, k.Environment, why),
		func(d *Deployment) error { d.Replicas, d.Stopped = replicas, stopped; return nil })
}

func equalReplicas(a, b *int32) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// Scale sets the replica count of a deployment that does not autoscale.
func (s *Service) Scale(ctx context.Context, st Store, a audit.Actor, k Key, replicas int32) (Deployment, error) {
	if replicas < 1 || replicas > MaxReplicas {
		return Deployment{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "replicas",
			Reason: fmt.Sprintf("must be between 1 and %d (stop the application to run none)", MaxReplicas)}}}
	}
	return s.operate(ctx, st, a, k, "deployment.scale", fmt.Sprintf("scaled to %d replicas", replicas), func(d *Deployment, v apps.Version) error {
		if as := v.Orchestration.Autoscaling; as != nil {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "replicas", Reason: fmt.Sprintf(
				"version %s autoscales between %d and %d replicas; change its autoscaling instead", v.Name, as.MinReplicas, as.MaxReplicas)}}}
		}
		if v.Chart != nil {
			// Its footprint, counted against quota, is the chart's objects.
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "replicas", Reason: fmt.Sprintf(
				"version %s is an app-store chart version; set replicas in its values and upgrade it", v.Name)}}}
		}
		d.Replicas = &replicas
		return nil
	})
}

// Stop scales a deployment to zero, keeping its replica count for Start.
func (s *Service) Stop(ctx context.Context, st Store, a audit.Actor, k Key) (Deployment, error) {
	return s.operate(ctx, st, a, k, "deployment.stop", "stopped", func(d *Deployment, _ apps.Version) error {
		d.Stopped = true
		return nil
	})
}

// Start runs a stopped deployment again at the replica count it had.
func (s *Service) Start(ctx context.Context, st Store, a audit.Actor, k Key) (Deployment, error) {
	return s.operate(ctx, st, a, k, "deployment.start", "started", func(d *Deployment, _ apps.Version) error {
		d.Stopped = false
		return nil
	})
}

// Restart replaces every pod of a deployment, a few at a time.
func (s *Service) Restart(ctx context.Context, st Store, a audit.Actor, k Key) (Deployment, error) {
	return s.operate(ctx, st, a, k, "deployment.restart", "restarted (rolling)", func(d *Deployment, _ apps.Version) error {
		now := s.now()
		d.RestartedAt = &now
		return nil
	})
}

// Delete marks a deployment for removal; the controller deletes its
// objects from the cluster and then the record.
func (s *Service) Delete(ctx context.Context, st Store, a audit.Actor, k Key) (Deployment, error) {
	return s.operate(ctx, st, a, k, "deployment.delete", "deleted", func(d *Deployment, _ apps.Version) error {
		d.Deleting = true
		return nil
	})
}

// DeleteInstall is Delete for an app-store install: withCRDs has the
// controller delete its chart's CustomResourceDefinitions too.
func (s *Service) DeleteInstall(ctx context.Context, st Store, a audit.Actor, k Key, withCRDs bool) (Deployment, error) {
	summary := "deleted"
	if withCRDs {
		summary = "deleted with its chart's CustomResourceDefinitions"
	}
	return s.operate(ctx, st, a, k, "deployment.delete", summary, func(d *Deployment, _ apps.Version) error {
		d.Deleting, d.DeleteCRDs = true, withCRDs
		return nil
	})
}

func (s *Service) operate(ctx context.Context, st Store, a audit.Actor, k Key, action, summary string, change func(*Deployment, apps.Version) error) (Deployment, error) {
	if err := checkKey(k); err != nil {
		return Deployment{}, err
	}
	what := fmt.Sprintf("%s %s/%s/%s in %s", action, k.Tenant, k.Project, k.Application, k.Environment)
	d, err := st.GetDeployment(ctx, k)
	if err != nil {
		return Deployment{}, fmt.Errorf("%s: %w", what, err)
	}
	if d.Deleting {
		return Deployment{}, fmt.Errorf("%s: the deployment is being deleted: %w", what, resource.ErrConflict)
	}
	v, err := st.GetVersion(ctx, k.Tenant, k.Project, k.Application, d.Version)
	if err != nil {
		return Deployment{}, fmt.Errorf("%s: version %s: %w", what, d.Version, err)
	}
	return s.update(ctx, st, a, d, action, k.Application+" in "+k.Environment+" "+summary,
		func(d *Deployment) error { return change(d, v) })
}

// update applies change to d, reserves quota for the result and writes it
// with its audit record.
func (s *Service) update(ctx context.Context, st Store, a audit.Actor, d Deployment, action, summary string, change func(*Deployment) error) (Deployment, error) {
	what := fmt.Sprintf("%s %s", action, d.Key().Path())
	if err := change(&d); err != nil {
		return Deployment{}, err
	}
	prev := d.ResourceVersion
	d.Generation++
	d.ResourceVersion++
	d.UpdatedAt = s.now()
	if err := s.reserve(ctx, st, d); err != nil {
		return Deployment{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := st.UpdateDeployment(ctx, d, prev); err != nil {
		return Deployment{}, fmt.Errorf("%s: %w", what, err)
	}
	return d, s.changed(ctx, st, a, d, action, summary)
}

func (s *Service) changed(ctx context.Context, st Store, a audit.Actor, d Deployment, action, summary string) error {
	_, err := audit.Append(ctx, st, s.now(), a, audit.Event{Tenant: d.Tenant, Project: d.Project, Action: action,
		Target: d.Key().Path(), Summary: summary})
	if err != nil {
		return err
	}
	s.changes.AfterCommit(st, d.Key().Change(change.Deployment))
	return nil
}

// reserve makes the application's quota reservation the sum of what its
// deployments in every environment need, with d in its new state.
func (s *Service) reserve(ctx context.Context, st Store, d Deployment) error {
	return s.reserveWith(ctx, st, d.Key(), &d)
}

// reserveWith sums the application's deployments, taking k's to be d (or
// gone when d is nil), and reserves the total.
func (s *Service) reserveWith(ctx context.Context, st Store, k Key, d *Deployment) error {
	all, err := st.ListDeployments(ctx, Filter{Tenant: k.Tenant, Project: k.Project, Application: k.Application}, "", 0)
	if err != nil {
		return fmt.Errorf("deployments of %s: %w", k.Application, err)
	}
	var each []Deployment
	for _, other := range all {
		if other.Key() != k {
			each = append(each, other)
		}
	}
	if d != nil {
		each = append(each, *d)
	}
	total := resource.List{}
	for _, x := range each {
		need, err := s.demand(ctx, st, x)
		if err != nil {
			return err
		}
		total = total.Add(need)
		if s.ExtraDemand != nil && !x.Deleting {
			extra, err := s.ExtraDemand(ctx, st, x.Key())
			if err != nil {
				return err
			}
			total = total.Add(extra)
		}
	}
	return s.tenancy.Reserve(ctx, st, tenancy.Reservation{Tenant: k.Tenant, Project: k.Project, Application: k.Application, Resources: total})
}

// Reserve makes the application's reservation match what its deployments
// (and their ExtraDemand) hold now, e.g. after a gray plan changed.
func (s *Service) Reserve(ctx context.Context, st Store, k Key) error {
	d, err := st.GetDeployment(ctx, k)
	if err != nil {
		return fmt.Errorf("reserve for %s: %w", k.Path(), err)
	}
	return s.reserve(ctx, st, d)
}

// Demand is what a deployment holds against quota: its version's
// reservation at the replica count it runs, nothing while stopped or
// being deleted.
func (s *Service) demand(ctx context.Context, st Store, d Deployment) (resource.List, error) {
	if d.Stopped || d.Deleting {
		return resource.List{}, nil
	}
	v, err := st.GetVersion(ctx, d.Tenant, d.Project, d.Application, d.Version)
	if err != nil {
		return nil, fmt.Errorf("version %s of %s: %w", d.Version, d.Application, err)
	}
	if d.Replicas != nil && v.Orchestration.Autoscaling == nil {
		v.Orchestration.Replicas = *d.Replicas
	}
	return apps.Reservation(v), nil
}

// RecordApplied records the controller's attempt at generation: on success
// the inventory it applied, on failure why. reason is the Ready
// condition's: why applyErr happened (the step that failed) or, with
// applyErr nil, that generation is applied. A success of a generation not
// applied before, and every failure, is audited; re-applies of the same
// generation (drift repair) are audited as such.
func (s *Service) RecordApplied(ctx context.Context, st Store, k Key, generation int64, inventory []byte, reason string, applyErr error) error {
	return s.RecordAttempt(ctx, st, k, Attempt{Generation: generation, Inventory: inventory, Reason: reason, Err: applyErr})
}

// Attempt is one attempt of the controller at a generation.
type Attempt struct {
	Generation int64
	// Version is the version applied (Applied.Version on success).
	Version string
	// Inventory is what the attempt applied; on failure it is kept only
	// with Partial: the objects were applied, a later step (a post-install
	// hook) failed, and the next apply must prune them.
	Inventory []byte
	Partial   bool
	Reason    string
	Err       error
}

// RecordAttempt is RecordApplied with the version applied, and what a
// failed attempt left in the cluster.
func (s *Service) RecordAttempt(ctx context.Context, st Store, k Key, a Attempt) error {
	generation, applyErr := a.Generation, a.Err
	d, err := st.GetDeployment(ctx, k)
	if err != nil {
		return fmt.Errorf("record apply of %s: %w", k.Path(), err)
	}
	prevApplied := d.Applied
	d.Applied = Applied{Generation: prevApplied.Generation, Version: prevApplied.Version, Inventory: prevApplied.Inventory, At: s.now(),
		Conditions: resource.SetCondition(prevApplied.Conditions, resource.Ready(generation, a.Reason, applyErr, s.now()))}
	ev := audit.Event{Tenant: k.Tenant, Project: k.Project, Target: k.Path()}
	if applyErr != nil {
		d.Applied.Error = applyErr.Error()
		if a.Partial {
			d.Applied.Inventory = a.Inventory
		}
		ev.Action, ev.Outcome = "deployment.apply", audit.Failure
		ev.Summary = fmt.Sprintf("applying generation %d of %s failed: %v", generation, k.Path(), applyErr)
	} else {
		d.Applied.Generation, d.Applied.Inventory = generation, a.Inventory
		if a.Version != "" {
			d.Applied.Version = a.Version
		}
		ev.Action = "deployment.apply"
		ev.Summary = fmt.Sprintf("applied generation %d (version %s) to the cluster", generation, d.Version)
	}
	prev := d.ResourceVersion
	d.ResourceVersion++
	if err := st.UpdateDeployment(ctx, d, prev); err != nil {
		return fmt.Errorf("record apply of %s: %w", k.Path(), err)
	}
	if applyErr == nil && prevApplied.Generation == generation && prevApplied.Error == "" {
		return nil // a re-apply that changed nothing we know of
	}
	_, err = audit.Append(ctx, st, s.now(), audit.System, ev)
	return err
}

// Remove deletes the record of a deployment whose objects are gone.
func (s *Service) Remove(ctx context.Context, st Store, k Key) error {
	if err := st.DeleteDeployment(ctx, k); err != nil {
		return fmt.Errorf("remove %s: %w", k.Path(), err)
	}
	if err := s.reserveWith(ctx, st, k, nil); err != nil {
		return err
	}
	_, err := audit.Append(ctx, st, s.now(), audit.System, audit.Event{Tenant: k.Tenant, Project: k.Project,
		Action: "deployment.remove", Target: k.Path(), Summary: "removed the deployment's objects from the cluster"})
	return err
}

// RecordDriftRepaired audits that the controller put back what others
// changed (or deleted) of the objects it applied for k; each of changes
// says who changed what ("kubectl (scale): spec.replicas").
func (s *Service) RecordDriftRepaired(ctx context.Context, st Store, k Key, changes []string) error {
	_, err := audit.Append(ctx, st, s.now(), audit.System, audit.Event{Tenant: k.Tenant, Project: k.Project,
		Action: "deployment.drift-repaired", Target: k.Path(),
		Summary: "restored the applied state after changes by " + strings.Join(changes, "; ")})
	return err
}
