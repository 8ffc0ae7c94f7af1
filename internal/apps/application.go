package apps

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func validateApplication(a Application) error {
	var errs resource.Errors
	errs.CheckName("tenant", a.Tenant)
	errs.CheckName("project", a.Project)
	errs.CheckName("name", a.Name)
	errs.CheckLen("displayName", a.DisplayName, 200)
	errs.CheckLen("description", a.Description, 2000)
	return errs.Err()
}

// CreateApplication creates app in its project, which must exist. It runs
// no version until one is activated (CreateVersion with Activate, or
// SetCurrentVersion); app.CurrentVersion is ignored.
func (s *Service) CreateApplication(ctx context.Context, st Store, a audit.Actor, app Application) (Application, error) {
	if err := validateApplication(app); err != nil {
		return Application{}, err
	}
	what := fmt.Sprintf("create application %s/%s/%s", app.Tenant, app.Project, app.Name)
	if _, err := st.GetProject(ctx, app.Tenant, app.Project); err != nil {
		return Application{}, fmt.Errorf("%s: project %s/%s: %w", what, app.Tenant, app.Project, err)
	}
	now := s.now()
	app.CurrentVersion, app.ResourceVersion, app.CreatedBy, app.CreatedAt, app.UpdatedAt = "", 1, a.User, now, now
	if err := st.CreateApplication(ctx, app); err != nil {
		return Application{}, fmt.Errorf("%s: %w", what, err)
	}
	return app, s.record(ctx, st, a, audit.Event{Tenant: app.Tenant, Project: app.Project, Action: "application.create",
		Target: appPath(app.Tenant, app.Project, app.Name), Summary: "created application " + app.Name})
}

// UpdateApplication replaces DisplayName and Description;
// app.ResourceVersion must be the version read. CurrentVersion is kept:
// change it with SetCurrentVersion.
func (s *Service) UpdateApplication(ctx context.Context, st Store, a audit.Actor, app Application) (Application, error) {
	if err := validateApplication(app); err != nil {
		return Application{}, err
	}
	if app.ResourceVersion <= 0 {
		return Application{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "resourceVersion",
			Reason: fmt.Sprintf("must be the resourceVersion that was read (a positive number), got %d", app.ResourceVersion)}}}
	}
	what := fmt.Sprintf("update application %s/%s/%s", app.Tenant, app.Project, app.Name)
	old, err := st.GetApplication(ctx, app.Tenant, app.Project, app.Name)
	if err != nil {
		return Application{}, fmt.Errorf("%s: %w", what, err)
	}
	prev := app.ResourceVersion
	app.CurrentVersion, app.CreatedBy, app.CreatedAt = old.CurrentVersion, old.CreatedBy, old.CreatedAt
	app.UpdatedAt, app.ResourceVersion = s.now(), old.ResourceVersion+1
	if err := st.UpdateApplication(ctx, app, prev); err != nil {
		return Application{}, fmt.Errorf("%s: %w", what, err)
	}
	return app, s.record(ctx, st, a, audit.Event{Tenant: app.Tenant, Project: app.Project, Action: "application.update",
		Target: appPath(app.Tenant, app.Project, app.Name), Summary: "updated application " + app.Name})
}

// SetCurrentVersion makes version the one the application runs, after
// reserving its resources against the project's and tenant's quota
// (*resource.QuotaExceededError when they do not fit). rv is the
// application's ResourceVersion as read; 0 skips the check.
func (s *Service) SetCurrentVersion(ctx context.Context, st Store, a audit.Actor, tenant, project, name, version string, rv int64) (Application, error) {
	what := fmt.Sprintf("set version of application %s/%s/%s to %s", tenant, project, name, version)
	app, err := st.GetApplication(ctx, tenant, project, name)
	if err != nil {
		return Application{}, fmt.Errorf("%s: %w", what, err)
	}
	if rv != 0 && rv != app.ResourceVersion {
		return Application{}, fmt.Errorf("%s: %w", what, resource.ErrConflict)
	}
	v, err := st.GetVersion(ctx, tenant, project, name, version)
	if err != nil {
		return Application{}, fmt.Errorf("%s: version %s: %w", what, version, err)
	}
	return s.activate(ctx, st, a, app, v)
}

func (s *Service) activate(ctx context.Context, st Store, a audit.Actor, app Application, v Version) (Application, error) {
	what := fmt.Sprintf("set version of application %s/%s/%s to %s", app.Tenant, app.Project, app.Name, v.Name)
	r := tenancy.Reservation{Tenant: app.Tenant, Project: app.Project, Application: app.Name, Resources: Reservation(v)}
	if err := s.tenancy.Reserve(ctx, st, r); err != nil {
		return Application{}, fmt.Errorf("%s: %w", what, err)
	}
	prev, from := app.ResourceVersion, app.CurrentVersion
	app.CurrentVersion, app.UpdatedAt, app.ResourceVersion = v.Name, s.now(), prev+1
	if err := st.UpdateApplication(ctx, app, prev); err != nil {
		return Application{}, fmt.Errorf("%s: %w", what, err)
	}
	summary := fmt.Sprintf("set version of %s to %s", app.Name, v.Name)
	if from != "" {
		summary += " (was " + from + ")"
	}
	return app, s.record(ctx, st, a, audit.Event{Tenant: app.Tenant, Project: app.Project, Action: "application.set-version",
		Target: appPath(app.Tenant, app.Project, app.Name), Summary: summary})
}

// Reservation returns what a version holds against quota when it runs: a
// chart version's footprint, or else its requests times its maximum replica count, one container per replica
// and one config item per config ref. Products saturate at
// resource.MaxQuantity; tenancy.Service.Reserve refuses such sizes.
func Reservation(v Version) resource.List {
	if v.Chart != nil {
		out := resource.List{}
		for n, q := range v.Chart.Footprint {
			out[n] = q
		}
		return out
	}
	n := int64(v.Orchestration.Replicas)
	if as := v.Orchestration.Autoscaling; as != nil && int64(as.MaxReplicas) > n {
		n = int64(as.MaxReplicas)
	}
	out := resource.List{resource.Containers: resource.Units(1).Times(n),
		resource.ConfigItems: resource.Units(int64(len(v.Orchestration.ConfigRefs)))}
	if bw := v.Orchestration.Bandwidth; bw != nil {
		for name, q := range map[resource.Name]resource.Quantity{resource.IngressBandwidth: bw.Ingress, resource.EgressBandwidth: bw.Egress} {
			if q > 0 {
				out[name] = q.Times(n)
			}
		}
	}
	if v.Resources != nil {
		for _, name := range []resource.Name{resource.CPU, resource.Memory, resource.Storage} {
			if q, ok := v.Resources.Requests[name]; ok {
				out[name] = q.Times(n)
			}
		}
	}
	return out
}

// DeleteApplication deletes an application with its versions and releases
// its quota. rv 0 skips the version check.
func (s *Service) DeleteApplication(ctx context.Context, st Store, a audit.Actor, tenant, project, name string, rv int64) error {
	what := fmt.Sprintf("delete application %s/%s/%s", tenant, project, name)
	if err := s.tenancy.Release(ctx, st, tenant, project, name); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := st.DeleteApplication(ctx, tenant, project, name, rv); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: tenant, Project: project, Action: "application.delete",
		Target: appPath(tenant, project, name), Summary: "deleted application " + name})
}

// GetApplication returns the named application.
func (s *Service) GetApplication(ctx context.Context, st Store, tenant, project, name string) (Application, error) {
	app, err := st.GetApplication(ctx, tenant, project, name)
	return app, wrap("get application "+tenant+"/"+project+"/"+name, err)
}

// ListApplications returns a page of a project's applications by name.
func (s *Service) ListApplications(ctx context.Context, st Store, tenant, project string, o resource.ListOptions) (resource.Page[Application], error) {
	return page(o, func(a Application) string { return a.Name }, func(after string, limit int) ([]Application, error) {
		return st.ListApplications(ctx, tenant, project, after, limit)
	})
}
