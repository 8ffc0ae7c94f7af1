package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func (a *API) registerTenancy() {
	a.route(Route{Method: "GET", Path: "/tenants", Summary: "List the tenants the caller may see", Query: pageQuery, Response: "List[Tenant]"}, a.listTenants)
	a.route(Route{Method: "POST", Path: "/tenants", Summary: "Create a tenant", Request: "Tenant", Response: "Tenant"}, a.createTenant)
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}", Summary: "Get a tenant", Response: "Tenant"}, a.getTenant)
	a.route(Route{Method: "PUT", Path: "/tenants/{tenant}", Summary: "Update a tenant (resourceVersion required)", Request: "Tenant", Response: "Tenant"}, a.updateTenant)
	a.route(Route{Method: "DELETE", Path: "/tenants/{tenant}", Summary: "Delete an empty tenant", Query: rvQuery, Response: "none"}, a.deleteTenant)

	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/projects", Summary: "List the projects of a tenant the caller may see", Query: pageQuery, Response: "List[Project]"}, a.listProjects)
	a.route(Route{Method: "POST", Path: "/tenants/{tenant}/projects", Summary: "Create a project", Request: "Project", Response: "Project"}, a.createProject)
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/projects/{project}", Summary: "Get a project", Response: "Project"}, a.getProject)
	a.route(Route{Method: "PUT", Path: "/tenants/{tenant}/projects/{project}", Summary: "Update a project (resourceVersion required)", Request: "Project", Response: "Project"}, a.updateProject)
	a.route(Route{Method: "DELETE", Path: "/tenants/{tenant}/projects/{project}", Summary: "Delete an empty project", Query: rvQuery, Response: "none"}, a.deleteProject)

	envs := "/tenants/{tenant}/projects/{project}/environments"
	a.route(Route{Method: "GET", Path: envs, Summary: "List the environments of a project", Query: pageQuery, Response: "List[Environment]"}, a.listEnvironments)
	a.route(Route{Method: "POST", Path: envs, Summary: "Create an environment bound to a cluster namespace", Request: "Environment", Response: "Environment"}, a.createEnvironment)
	a.route(Route{Method: "GET", Path: envs + "/{environment}", Summary: "Get an environment", Response: "Environment"}, a.getEnvironment)
	a.route(Route{Method: "PUT", Path: envs + "/{environment}", Summary: "Update an environment (resourceVersion required)", Request: "Environment", Response: "Environment"}, a.updateEnvironment)
	a.route(Route{Method: "DELETE", Path: envs + "/{environment}", Summary: "Delete an environment", Query: rvQuery, Response: "none"}, a.deleteEnvironment)

	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/quota", Summary: "A tenant's quota and usage", Response: "Usage"}, a.getQuota)
	a.route(Route{Method: "PUT", Path: "/tenants/{tenant}/quota", Summary: "Set a tenant's quota", Request: "Quota", Response: "Quota"}, a.putQuota)
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/projects/{project}/quota", Summary: "A project's quota and usage", Response: "Usage"}, a.getQuota)
	a.route(Route{Method: "PUT", Path: "/tenants/{tenant}/projects/{project}/quota", Summary: "Set a project's quota (within its tenant's)", Request: "Quota", Response: "Quota"}, a.putQuota)

	a.registerGrantsAndFloors()

	for _, base := range []string{"", "/tenants/{tenant}", "/tenants/{tenant}/projects/{project}"} {
		a.route(Route{Method: "GET", Path: base + "/members", Summary: "List the role bindings at a scope", Query: pageQuery, Response: "List[Member]"}, a.listMembers)
		a.route(Route{Method: "POST", Path: base + "/members", Summary: "Grant a user a role at a scope", Request: "Member", Response: "Member"}, a.addMember)
		a.route(Route{Method: "DELETE", Path: base + "/members/{user}/{role}", Summary: "Revoke a role binding", Query: rvQuery, Response: "none"}, a.removeMember)
	}
}

var (
	pageQuery = []string{"limit", "continue"}
	rvQuery   = []string{"resourceVersion"}
)

// scopeOf is the scope named by the request's path.
func scopeOf(r *http.Request) authz.Scope {
	return authz.Scope{Tenant: r.PathValue("tenant"), Project: r.PathValue("project")}
}

func tscope(s authz.Scope) tenancy.Scope { return tenancy.Scope{Tenant: s.Tenant, Project: s.Project} }

func (a *API) listTenants(w http.ResponseWriter, r *http.Request) error {
	decide(r) // the list is filtered by the caller's bindings
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	p := principalOf(r)
	names, all := authz.Tenants(p.bindings)
	if all && authz.Allowed(p.bindings, authz.TenantRead, authz.TenantScope("*")) {
		var page resource.Page[tenancy.Tenant]
		err := a.view(r, func(tx platform.Tx) error {
			page, err = a.p.Tenancy.ListTenants(r.Context(), tx, o)
			return err
		})
		if err != nil {
			return err
		}
		return writePage(w, page)
	}
	var items []tenancy.Tenant
	err = a.view(r, func(tx platform.Tx) error {
		for _, n := range names {
			t, err := a.p.Tenancy.GetTenant(r.Context(), tx, n)
			if errors.Is(err, resource.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			items = append(items, t)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writePage(w, resource.Page[tenancy.Tenant]{Items: items})
}

func (a *API) createTenant(w http.ResponseWriter, r *http.Request) error {
	// Only the platform creates tenants, whatever the name: decide first.
	if err := a.authorize(r, authz.TenantCreate, authz.TenantScope("*")); err != nil {
		return err
	}
	var t tenancy.Tenant
	if err := decode(r, &t); err != nil {
		return err
	}
	s := authz.TenantScope(t.Name)
	err := a.do(r, "tenant.create", "tenants/"+t.Name, s, func(tx platform.Tx) error {
		var err error
		t, err = a.p.Tenancy.CreateTenant(r.Context(), tx, a.actor(r), t)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (a *API) getTenant(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.TenantRead, s); err != nil {
		return err
	}
	var t tenancy.Tenant
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		t, err = a.p.Tenancy.GetTenant(r.Context(), tx, s.Tenant)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (a *API) updateTenant(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.TenantUpdate, s); err != nil {
		return err
	}
	var t tenancy.Tenant
	if err := decode(r, &t); err != nil {
		return err
	}
	t.Name = s.Tenant
	err := a.do(r, "tenant.update", "tenants/"+t.Name, s, func(tx platform.Tx) error {
		var err error
		t, err = a.p.Tenancy.UpdateTenant(r.Context(), tx, a.actor(r), t)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

func (a *API) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.TenantDelete, s); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	err = a.do(r, "tenant.delete", "tenants/"+s.Tenant, s, func(tx platform.Tx) error {
		return a.p.Tenancy.DeleteTenant(r.Context(), tx, a.actor(r), s.Tenant, v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	p := principalOf(r)
	if authz.Allowed(p.bindings, authz.ProjectRead, authz.ProjectScope(s.Tenant, "*")) {
		decide(r)
		o, err := listOptions(r)
		if err != nil {
			return err
		}
		var page resource.Page[tenancy.Project]
		err = a.view(r, func(tx platform.Tx) error {
			page, err = a.p.Tenancy.ListProjects(r.Context(), tx, s.Tenant, o)
			return err
		})
		if err != nil {
			return err
		}
		return writePage(w, page)
	}
	// Members of single projects see those projects only.
	var names []string
	for _, b := range p.bindings {
		if b.Scope.Tenant == s.Tenant && b.Scope.Project != "" && authz.Has(b.Role, authz.ProjectRead) {
			names = append(names, b.Scope.Project)
		}
	}
	if len(names) == 0 {
		return a.authorize(r, authz.ProjectRead, authz.ProjectScope(s.Tenant, "*"))
	}
	decide(r) // the list is filtered by the caller's project bindings
	if _, err := listOptions(r); err != nil {
		return err
	}
	var items []tenancy.Project
	err := a.view(r, func(tx platform.Tx) error {
		for _, n := range names {
			pr, err := a.p.Tenancy.GetProject(r.Context(), tx, s.Tenant, n)
			if errors.Is(err, resource.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			items = append(items, pr)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writePage(w, resource.Page[tenancy.Project]{Items: items})
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) error {
	// Whoever may create one project of the tenant may create any: decide
	// before reading the body.
	tenant := r.PathValue("tenant")
	if err := a.authorize(r, authz.ProjectCreate, authz.ProjectScope(tenant, "*")); err != nil {
		return err
	}
	var pr tenancy.Project
	if err := decode(r, &pr); err != nil {
		return err
	}
	pr.Tenant = tenant
	s := authz.ProjectScope(pr.Tenant, pr.Name)
	err := a.do(r, "project.create", "tenants/"+pr.Tenant+"/projects/"+pr.Name, s, func(tx platform.Tx) error {
		var err error
		pr, err = a.p.Tenancy.CreateProject(r.Context(), tx, a.actor(r), pr)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, pr)
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ProjectRead, s); err != nil {
		return err
	}
	var pr tenancy.Project
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		pr, err = a.p.Tenancy.GetProject(r.Context(), tx, s.Tenant, s.Project)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ProjectUpdate, s); err != nil {
		return err
	}
	var pr tenancy.Project
	if err := decode(r, &pr); err != nil {
		return err
	}
	pr.Tenant, pr.Name = s.Tenant, s.Project
	err := a.do(r, "project.update", r.URL.Path, s, func(tx platform.Tx) error {
		var err error
		pr, err = a.p.Tenancy.UpdateProject(r.Context(), tx, a.actor(r), pr)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ProjectDelete, s); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	err = a.do(r, "project.delete", r.URL.Path, s, func(tx platform.Tx) error {
		return a.p.Tenancy.DeleteProject(r.Context(), tx, a.actor(r), s.Tenant, s.Project, v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.EnvironmentRead, s); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[tenancy.Environment]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Tenancy.ListEnvironments(r.Context(), tx, s.Tenant, s.Project, o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.EnvironmentCreate, s); err != nil {
		return err
	}
	var e tenancy.Environment
	if err := decode(r, &e); err != nil {
		return err
	}
	e.Tenant, e.Project = s.Tenant, s.Project
	err := a.do(r, "environment.create", r.URL.Path+"/"+e.Name, s, func(tx platform.Tx) error {
		var err error
		e, err = a.p.Tenancy.CreateEnvironment(r.Context(), tx, a.actor(r), e)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (a *API) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.EnvironmentRead, s); err != nil {
		return err
	}
	var e tenancy.Environment
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		e, err = a.p.Tenancy.GetEnvironment(r.Context(), tx, s.Tenant, s.Project, r.PathValue("environment"))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (a *API) updateEnvironment(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.EnvironmentUpdate, s); err != nil {
		return err
	}
	var e tenancy.Environment
	if err := decode(r, &e); err != nil {
		return err
	}
	e.Tenant, e.Project, e.Name = s.Tenant, s.Project, r.PathValue("environment")
	err := a.do(r, "environment.update", r.URL.Path, s, func(tx platform.Tx) error {
		var err error
		e, err = a.p.Tenancy.UpdateEnvironment(r.Context(), tx, a.actor(r), e)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (a *API) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.EnvironmentDelete, s); err != nil {
		return err
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	err = a.do(r, "environment.delete", r.URL.Path, s, func(tx platform.Tx) error {
		return a.p.Tenancy.DeleteEnvironment(r.Context(), tx, a.actor(r), s.Tenant, s.Project, r.PathValue("environment"), v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getQuota(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.QuotaRead, s); err != nil {
		return err
	}
	var u tenancy.Usage
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		u, err = a.p.Tenancy.Usage(r.Context(), tx, tscope(s))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (a *API) putQuota(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	perm := authz.TenantQuotaSet
	if s.Project != "" {
		perm = authz.ProjectQuotaSet
	}
	if err := a.authorize(r, perm, s); err != nil {
		return err
	}
	var q tenancy.Quota
	if err := decode(r, &q); err != nil {
		return err
	}
	q.Scope = tscope(s)
	err := a.do(r, "quota.set", r.URL.Path, s, func(tx platform.Tx) error {
		var err error
		q, err = a.p.Tenancy.SetQuota(r.Context(), tx, a.actor(r), q)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, q)
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.MemberRead, s); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[tenancy.Member]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Tenancy.ListMembers(r.Context(), tx, tscope(s), o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.MemberCreate, s); err != nil {
		return err
	}
	var m tenancy.Member
	if err := decode(r, &m); err != nil {
		return err
	}
	m.Scope = tscope(s)
	if err := authz.Validate(authz.Role(m.Role), s); err != nil {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "role", Reason: err.Error()}}}
	}
	if !authz.CanGrant(principalOf(r).bindings, authz.Role(m.Role), s) {
		a.auditDenied(r, authz.UserCreate, s)
		return errForbidden
	}
	err := a.do(r, "member.add", r.URL.Path, s, func(tx platform.Tx) error {
		if err := a.userMustExist(r.Context(), tx, "user", m.User); err != nil {
			return err
		}
		var err error
		m, err = a.p.Tenancy.AddMember(r.Context(), tx, a.actor(r), m)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, m)
}

// userMustExist refuses a role binding for a user Berth does not know: a
// typo would otherwise grant nothing now and the role to whoever is later
// created with that name.
func (a *API) userMustExist(ctx context.Context, tx platform.Tx, field, name string) error {
	if name == "" {
		return nil // validation names the empty field
	}
	_, err := a.p.Identity.GetUser(ctx, tx, name)
	if errors.Is(err, resource.ErrNotFound) {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: field, Reason: fmt.Sprintf("no user %q; create it first (berth user create)", name)}}}
	}
	return err
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.MemberDelete, s); err != nil {
		return err
	}
	role := authz.Role(r.PathValue("role"))
	if role == authz.PlatformAdmin && !authz.IsPlatformAdmin(principalOf(r).bindings) {
		a.auditDenied(r, authz.UserDelete, s)
		return errForbidden
	}
	v, err := rv(r)
	if err != nil {
		return err
	}
	err = a.do(r, "member.remove", r.URL.Path, s, func(tx platform.Tx) error {
		return a.p.Tenancy.RemoveMember(r.Context(), tx, a.actor(r), tscope(s), r.PathValue("user"), tenancy.Role(role), v)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
