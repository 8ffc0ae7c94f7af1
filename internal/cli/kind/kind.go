// Package kind is what the CLI's get, describe and delete know about each
// kind of object: its names, where it lives in the API and the columns of
// its table; and the printers of -o table|json|yaml.
package kind

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"berth.dev/berth/internal/client"
)

// Kind is one kind of object the CLI addresses.
type Kind struct {
	Name    string   // plural, as `berth get` shows it
	Aliases []string // singular and short forms
	// base returns the collection path for the given place.
	base func(p Place) (string, error)
	// Columns of the table: header and the JSON field path of each.
	Columns []Column
	// Single kinds have one object per place and no list (quota).
	Single bool
}

// Column is one table column.
type Column struct {
	Header string
	Field  string // dotted JSON path, e.g. "scope.tenant"
}

// Place is where objects of a tenant or project are looked up.
type Place struct {
	Tenant, Project, App string
}

var kinds = []Kind{
	{Name: "tenants", Aliases: []string{"tenant", "tn"}, base: fixed("/tenants"),
		Columns: []Column{{"NAME", "name"}, {"DISPLAY NAME", "displayName"}, {"CREATED", "createdAt"}}},
	{Name: "projects", Aliases: []string{"project", "proj"}, base: inTenant("/projects"),
		Columns: []Column{{"NAME", "name"}, {"TENANT", "tenant"}, {"DISPLAY NAME", "displayName"}, {"CREATED", "createdAt"}}},
	{Name: "environments", Aliases: []string{"environment", "env", "envs"}, base: inProject("/environments"),
		Columns: []Column{{"NAME", "name"}, {"CLUSTER", "cluster"}, {"NAMESPACE", "namespace"}, {"CREATED", "createdAt"}}},
	{Name: "clusters", Aliases: []string{"cluster"}, base: fixed("/clusters"),
		Columns: []Column{{"NAME", "name"}, {"DISPLAY NAME", "displayName"}, {"ZONE", "zone"}, {"STATUS", "status.phase"}, {"CREATED", "createdAt"}}},
	{Name: "applications", Aliases: []string{"application", "app", "apps"}, base: inProject("/applications"),
		Columns: []Column{{"NAME", "name"}, {"VERSION", "currentVersion"}, {"CREATED BY", "createdBy"}, {"CREATED", "createdAt"}}},
	{Name: "versions", Aliases: []string{"version", "ver"}, base: inApp("/versions"),
		Columns: []Column{{"NAME", "name"}, {"IMAGE", "image"}, {"TIER", "tier"}, {"REPLICAS", "orchestration.replicas"}, {"CREATED BY", "createdBy"}, {"CREATED", "createdAt"}}},
	{Name: "tiers", Aliases: []string{"tier", "resourcetier", "resourcetiers"}, base: fixed("/tiers"),
		Columns: []Column{{"NAME", "name"}, {"CPU", "resources.requests.cpu"}, {"MEMORY", "resources.requests.memory"}, {"CAPACITY", "capacity"}}},
	{Name: "quota", Aliases: []string{"quotas", "usage"}, base: inScope("/quota"), Single: true,
		Columns: []Column{{"RESOURCE", "resource"}, {"USED", "used"}, {"HARD", "hard"}}},
	{Name: "members", Aliases: []string{"member"}, base: inScope("/members"),
		Columns: []Column{{"USER", "user"}, {"ROLE", "role"}, {"TENANT", "scope.tenant"}, {"PROJECT", "scope.project"}, {"CREATED", "createdAt"}}},
	{Name: "users", Aliases: []string{"user"}, base: fixed("/users"),
		Columns: []Column{{"NAME", "name"}, {"DISPLAY NAME", "displayName"}, {"DISABLED", "disabled"}, {"CREATED", "createdAt"}}},
	{Name: "tokens", Aliases: []string{"token"}, base: fixed("/tokens"),
		Columns: []Column{{"ID", "id"}, {"NAME", "name"}, {"EXPIRES", "expiresAt"}, {"REVOKED", "revokedAt"}}},
}

// Names lists the kinds for help texts.
func Names() string {
	var names []string
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	return strings.Join(names, ", ")
}

// Lookup finds a kind by name or alias, case-insensitively.
func Lookup(name string) (Kind, error) {
	name = strings.ToLower(name)
	for _, k := range kinds {
		if k.Name == name || slices.Contains(k.Aliases, name) {
			return k, nil
		}
	}
	return Kind{}, fmt.Errorf("unknown kind %q; want one of %s", name, Names())
}

// Collection returns the path of the kind's collection at p.
func (k Kind) Collection(p Place) (string, error) { return k.base(p) }

// Item returns the path of the object named name at p. Members are named
// "user:role".
func (k Kind) Item(p Place, name string) (string, error) {
	base, err := k.base(p)
	if err != nil {
		return "", err
	}
	if k.Single {
		return base, nil
	}
	if name == "" {
		return "", fmt.Errorf("%s: a name is required", k.Name)
	}
	if k.Name == "members" {
		user, role, ok := strings.Cut(name, ":")
		if !ok {
			return "", fmt.Errorf("members are named user:role, got %q", name)
		}
		return base + "/" + url.PathEscape(user) + "/" + url.PathEscape(role), nil
	}
	return base + "/" + url.PathEscape(name), nil
}

func fixed(path string) func(Place) (string, error) {
	return func(Place) (string, error) { return path, nil }
}

func inTenant(suffix string) func(Place) (string, error) {
	return func(p Place) (string, error) {
		if p.Tenant == "" {
			return "", fmt.Errorf("which tenant? pass --tenant (or set it in the context)")
		}
		return "/tenants/" + url.PathEscape(p.Tenant) + suffix, nil
	}
}

func inProject(suffix string) func(Place) (string, error) {
	return func(p Place) (string, error) {
		if p.Tenant == "" || p.Project == "" {
			return "", fmt.Errorf("which project? pass --tenant and --project (or set them in the context)")
		}
		return "/tenants/" + url.PathEscape(p.Tenant) + "/projects/" + url.PathEscape(p.Project) + suffix, nil
	}
}

func inApp(suffix string) func(Place) (string, error) {
	return func(p Place) (string, error) {
		if p.App == "" {
			return "", fmt.Errorf("which application? pass --app")
		}
		base, err := inProject("/applications/" + url.PathEscape(p.App))(p)
		return base + suffix, err
	}
}

// inScope is the platform, a tenant or a project, whichever p names.
func inScope(suffix string) func(Place) (string, error) {
	return func(p Place) (string, error) {
		switch {
		case p.Tenant == "":
			return suffix, nil
		case p.Project == "":
			return "/tenants/" + url.PathEscape(p.Tenant) + suffix, nil
		}
		return "/tenants/" + url.PathEscape(p.Tenant) + "/projects/" + url.PathEscape(p.Project) + suffix, nil
	}
}

// Flags binds --tenant, --project and --app to p.
func (p *Place) Flags(fs interface {
	StringVarP(*string, string, string, string, string)
	StringVar(*string, string, string, string)
}) {
	fs.StringVarP(&p.Tenant, "tenant", "t", "", "tenant (default: the context's)")
	fs.StringVarP(&p.Project, "project", "p", "", "project (default: the context's)")
	fs.StringVar(&p.App, "app", "", "application (for versions)")
}

// Default fills the tenant and project not given from the context's.
func (p *Place) Default(tenant, project string) {
	if p.Tenant == "" {
		p.Tenant = tenant
		if p.Project == "" {
			p.Project = project
		}
	}
}

// OpenProject opens the CLI session, fills the tenant and project of p not
// given from its context, and returns the project's API path
// "/tenants/T/projects/P"; without both it names the flags to set.
func OpenProject(getenv func(string) string, p *Place) (*client.Session, string, error) {
	s, err := client.Open(getenv)
	if err != nil {
		return nil, "", err
	}
	p.Default(s.Context.Tenant, s.Context.Project)
	if p.Tenant == "" || p.Project == "" {
		return nil, "", errors.New("--tenant and --project: set them, or a context with `berth context set -t T -p P`")
	}
	return s, "/tenants/" + url.PathEscape(p.Tenant) + "/projects/" + url.PathEscape(p.Project), nil
}

// Environment is the environment a command acts in: its project's place
// and --env.
type Environment struct {
	Place Place
	Name  string
}

// Flags registers the place's flags and --env (-e) on fs.
func (e *Environment) Flags(fs interface {
	StringVarP(*string, string, string, string, string)
	StringVar(*string, string, string, string)
}) {
	e.Place.Flags(fs)
	fs.StringVarP(&e.Name, "env", "e", "", "environment (required)")
}

// Open opens the session and returns the environment's API path; --env is
// required.
func (e *Environment) Open(getenv func(string) string) (*client.Session, string, error) {
	if e.Name == "" {
		return nil, "", errors.New("--env: the environment is required")
	}
	s, project, err := OpenProject(getenv, &e.Place)
	if err != nil {
		return nil, "", err
	}
	return s, project + "/environments/" + url.PathEscape(e.Name), nil
}
