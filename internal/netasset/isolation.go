package netasset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Level is the unit of isolation: pods of an isolated unit accept
// connections only from inside the unit, from the gateway, on exposed
// node ports, and from peers an Allow names.
type Level string

// The levels, coarse to fine. LevelNone isolates nothing.
const (
	LevelNone        Level = ""
	LevelTenant      Level = "tenant"
	LevelProject     Level = "project"
	LevelApplication Level = "application"
)

var levelRank = map[Level]int{LevelNone: 0, LevelTenant: 1, LevelProject: 2, LevelApplication: 3}

// Finer returns the finer of l and m.
func (l Level) Finer(m Level) Level {
	if levelRank[m] > levelRank[l] {
		return m
	}
	return l
}

// Peer names pods: every pod of a tenant, of a project, or of one
// application (Project and Application narrow).
type Peer struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project,omitempty"`
	Application string `json:"application,omitempty"`
}

// Contains reports whether the pod of tenant/project/app is among p's.
func (p Peer) Contains(tenant, project, app string) bool {
	return p.Tenant == tenant && (p.Project == "" || p.Project == project) && (p.Application == "" || p.Application == app)
}

func (p Peer) String() string {
	s := p.Tenant
	if p.Project != "" {
		s += "/" + p.Project
	}
	if p.Application != "" {
		s += "/" + p.Application
	}
	return s
}

// Allow lets From connect to To through the isolation. To lies inside the
// record's scope (its Tenant, and Project for a project's record, are
// filled in from the record).
type Allow struct {
	From Peer `json:"from"`
	To   Peer `json:"to"`
}

// Isolation is the isolation setting of a tenant (Project empty) or a
// project. A project is isolated at the finer of its tenant's level and
// its own; the allows of both apply.
type Isolation struct {
	Tenant          string    `json:"tenant"`
	Project         string    `json:"project,omitempty"`
	Level           Level     `json:"level"`
	Allow           []Allow   `json:"allow,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	UpdatedAt       time.Time `json:"updatedAt,omitzero"`
}

func (i Isolation) path() string {
	if i.Project == "" {
		return "tenants/" + i.Tenant + "/network/isolation"
	}
	return "tenants/" + i.Tenant + "/projects/" + i.Project + "/network/isolation"
}

func (i Isolation) scope() string {
	if i.Project == "" {
		return "tenant " + i.Tenant
	}
	return "project " + i.Tenant + "/" + i.Project
}

// MaxAllows bounds the allow rules of one record.
const MaxAllows = 200

func validateIsolation(i *Isolation) error {
	var errs resource.Errors
	errs.CheckName("tenant", i.Tenant)
	if i.Project != "" {
		errs.CheckName("project", i.Project)
	}
	if _, ok := levelRank[i.Level]; !ok {
		errs.Add("level", "must be tenant, project, application or empty (none), got %q", i.Level)
	}
	errs.CheckNonNegative("resourceVersion", i.ResourceVersion)
	if len(i.Allow) > MaxAllows {
		errs.Add("allow", "at most %d rules, got %d", MaxAllows, len(i.Allow))
	}
	for n := range i.Allow {
		r := &i.Allow[n]
		path := fmt.Sprintf("allow[%d]", n)
		checkPeer(&errs, path+".from", r.From)
		switch {
		case r.To.Tenant != "" && r.To.Tenant != i.Tenant:
			errs.Add(path+".to.tenant", "must be %s, the record's tenant, or empty", i.Tenant)
		case i.Project != "" && r.To.Project != "" && r.To.Project != i.Project:
			errs.Add(path+".to.project", "must be %s, the record's project, or empty", i.Project)
		}
		r.To.Tenant = i.Tenant
		if i.Project != "" {
			r.To.Project = i.Project
		}
		checkPeer(&errs, path+".to", r.To)
	}
	return errs.Err()
}

func checkPeer(errs *resource.Errors, path string, p Peer) {
	errs.CheckName(path+".tenant", p.Tenant)
	if p.Project != "" {
		errs.CheckName(path+".project", p.Project)
	}
	if p.Application != "" {
		errs.CheckName(path+".application", p.Application)
	}
	if p.Application != "" && p.Project == "" {
		errs.Add(path+".project", "must be set when application is")
	}
}

// SetIsolation creates or replaces the isolation of a tenant or project
// (i.ResourceVersion is the version read, 0 when there was none) and
// audits the change with the old and new level.
func (s *Service) SetIsolation(ctx context.Context, st Store, a audit.Actor, i Isolation) (Isolation, error) {
	if err := validateIsolation(&i); err != nil {
		return Isolation{}, err
	}
	what := "set isolation of " + i.scope()
	if _, err := st.GetTenant(ctx, i.Tenant); err != nil {
		return Isolation{}, fmt.Errorf("%s: %w", what, err)
	}
	if i.Project != "" {
		if _, err := st.GetProject(ctx, i.Tenant, i.Project); err != nil {
			return Isolation{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	old, err := st.GetIsolation(ctx, i.Tenant, i.Project)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		old = Isolation{}
	case err != nil:
		return Isolation{}, fmt.Errorf("%s: %w", what, err)
	}
	if i.ResourceVersion != old.ResourceVersion {
		return Isolation{}, fmt.Errorf("%s: read version %d, stored %d: %w", what, i.ResourceVersion, old.ResourceVersion, resource.ErrConflict)
	}
	prev := i.ResourceVersion
	i.ResourceVersion, i.UpdatedAt = prev+1, s.now()
	if err := st.PutIsolation(ctx, i, prev); err != nil {
		return Isolation{}, fmt.Errorf("%s: %w", what, err)
	}
	s.changes.AfterCommit(st, change.Changed{Kind: change.Isolation, Key: change.Key{Tenant: i.Tenant, Project: i.Project}})
	return i, s.record(ctx, st, a, audit.Event{Tenant: i.Tenant, Project: i.Project, Action: "isolation.set", Target: i.path(),
		Summary: fmt.Sprintf("set isolation of %s to level %s with %d allow rules %s (was level %s with %d)",
			i.scope(), levelName(i.Level), len(i.Allow), allowList(i.Allow), levelName(old.Level), len(old.Allow))})
}

func levelName(l Level) string {
	if l == LevelNone {
		return "none"
	}
	return string(l)
}

func allowList(rs []Allow) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.From.String() + "→" + r.To.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// GetIsolation returns the record of a tenant or project; one never set is
// returned with LevelNone and ResourceVersion 0.
func (s *Service) GetIsolation(ctx context.Context, st Store, tenant, project string) (Isolation, error) {
	i, err := st.GetIsolation(ctx, tenant, project)
	if errors.Is(err, resource.ErrNotFound) {
		if _, err := st.GetTenant(ctx, tenant); err != nil {
			return Isolation{}, fmt.Errorf("isolation of %s: %w", tenant, err)
		}
		if project != "" {
			if _, err := st.GetProject(ctx, tenant, project); err != nil {
				return Isolation{}, fmt.Errorf("isolation of %s/%s: %w", tenant, project, err)
			}
		}
		return Isolation{Tenant: tenant, Project: project}, nil
	}
	return i, wrap("isolation of "+tenant+"/"+project, err)
}

// ListIsolations returns the isolation of every tenant and project (of
// one tenant when tenant is set), by tenant then project, those never set
// with LevelNone and ResourceVersion 0: the one view isolation is switched
// from.
func (s *Service) ListIsolations(ctx context.Context, st Store, tenant string) ([]Isolation, error) {
	stored, err := st.ListIsolations(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("list isolation: %w", err)
	}
	byScope := map[[2]string]Isolation{}
	for _, i := range stored {
		byScope[[2]string{i.Tenant, i.Project}] = i
	}
	tenants := []string{tenant}
	if tenant == "" {
		ts, err := all(func(after string, limit int) ([]tenancy.Tenant, error) { return st.ListTenants(ctx, after, limit) },
			func(t tenancy.Tenant) string { return t.Name })
		if err != nil {
			return nil, fmt.Errorf("list isolation: %w", err)
		}
		tenants = tenants[:0]
		for _, t := range ts {
			tenants = append(tenants, t.Name)
		}
	}
	var out []Isolation
	for _, t := range tenants {
		ps, err := all(func(after string, limit int) ([]tenancy.Project, error) { return st.ListProjects(ctx, t, after, limit) },
			func(p tenancy.Project) string { return p.Name })
		if err != nil {
			return nil, fmt.Errorf("list isolation of %s: %w", t, err)
		}
		scopes := [][2]string{{t, ""}}
		for _, p := range ps {
			scopes = append(scopes, [2]string{t, p.Name})
		}
		for _, sc := range scopes {
			i, ok := byScope[sc]
			if !ok {
				i = Isolation{Tenant: sc[0], Project: sc[1]}
			}
			out = append(out, i)
		}
	}
	return out, nil
}
