package store

import (
	"context"
	"fmt"
	"strings"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// CreateTenant implements tenancy.Store.
func (tx *Tx) CreateTenant(ctx context.Context, t tenancy.Tenant) error {
	return tx.insert(ctx, tenantsT, []any{t.Name}, nil, t.ResourceVersion, t)
}

// GetTenant implements tenancy.Store.
func (tx *Tx) GetTenant(ctx context.Context, name string) (t tenancy.Tenant, err error) {
	return t, tx.get(ctx, tenantsT, &t, name)
}

// UpdateTenant implements tenancy.Store.
func (tx *Tx) UpdateTenant(ctx context.Context, t tenancy.Tenant, prevRV int64) error {
	return tx.update(ctx, tenantsT, []any{t.Name}, nil, prevRV, t.ResourceVersion, t)
}

// DeleteTenant implements tenancy.Store: only a tenant without projects,
// taking its members and quota with it.
func (tx *Tx) DeleteTenant(ctx context.Context, name string, prevRV int64) error {
	if err := tx.inUse(ctx, "the tenant has projects", "projects", "tenant = ?", name); err != nil {
		return err
	}
	if err := tx.checkRV(ctx, tenantsT, []any{name}, prevRV); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "DELETE FROM members WHERE tenant = ?", name); err != nil {
		return err
	}
	return tx.del(ctx, tenantsT, []any{name}, prevRV)
}

// checkRV fails unless the row exists with rv prevRV (any rv when 0).
func (tx *Tx) checkRV(ctx context.Context, t table, keys []any, prevRV int64) error {
	var rv int64
	if err := tx.queryRow(ctx, "SELECT rv FROM "+t.name+" WHERE "+t.where(t.keys), keys...).Scan(&rv); err != nil {
		return notFound(tx, err)
	}
	if prevRV != 0 && rv != prevRV {
		return resource.ErrConflict
	}
	return nil
}

// ListTenants implements tenancy.Store.
func (tx *Tx) ListTenants(ctx context.Context, after string, limit int) ([]tenancy.Tenant, error) {
	return list[tenancy.Tenant](ctx, tx, tenantsT, nil, after, limit)
}

// LockTenant implements tenancy.Store.
func (tx *Tx) LockTenant(ctx context.Context, name string) error {
	var n string
	return notFound(tx, tx.queryRow(ctx, "SELECT name FROM tenants WHERE name = ?"+tx.d.forUpdate, name).Scan(&n))
}

// CreateProject implements tenancy.Store.
func (tx *Tx) CreateProject(ctx context.Context, p tenancy.Project) error {
	return tx.insert(ctx, projectsT, []any{p.Tenant, p.Name}, nil, p.ResourceVersion, p)
}

// GetProject implements tenancy.Store.
func (tx *Tx) GetProject(ctx context.Context, tenant, name string) (p tenancy.Project, err error) {
	return p, tx.get(ctx, projectsT, &p, tenant, name)
}

// UpdateProject implements tenancy.Store.
func (tx *Tx) UpdateProject(ctx context.Context, p tenancy.Project, prevRV int64) error {
	return tx.update(ctx, projectsT, []any{p.Tenant, p.Name}, nil, prevRV, p.ResourceVersion, p)
}

// DeleteProject implements tenancy.Store: only a project without
// applications or environments, taking its members and quota with it.
func (tx *Tx) DeleteProject(ctx context.Context, tenant, name string, prevRV int64) error {
	if err := tx.inUse(ctx, "the project has applications", "applications", "tenant = ? AND project = ?", tenant, name); err != nil {
		return err
	}
	if err := tx.inUse(ctx, "the project has environments", "environments", "tenant = ? AND project = ?", tenant, name); err != nil {
		return err
	}
	if err := tx.checkRV(ctx, projectsT, []any{tenant, name}, prevRV); err != nil {
		return err
	}
	for _, tbl := range []string{"members", "quotas"} {
		if _, err := tx.exec(ctx, "DELETE FROM "+tbl+" WHERE tenant = ? AND project = ?", tenant, name); err != nil {
			return err
		}
	}
	return tx.del(ctx, projectsT, []any{tenant, name}, prevRV)
}

// ListProjects implements tenancy.Store.
func (tx *Tx) ListProjects(ctx context.Context, tenant, after string, limit int) ([]tenancy.Project, error) {
	return list[tenancy.Project](ctx, tx, projectsT, []any{tenant}, after, limit)
}

// CreateEnvironment implements tenancy.Store; a namespace already bound
// is resource.ErrAlreadyExists.
func (tx *Tx) CreateEnvironment(ctx context.Context, e tenancy.Environment) error {
	return tx.insert(ctx, environmentsT, []any{e.Tenant, e.Project, e.Name}, []any{e.Cluster, e.Namespace}, e.ResourceVersion, e)
}

// GetEnvironment implements tenancy.Store.
func (tx *Tx) GetEnvironment(ctx context.Context, tenant, project, name string) (e tenancy.Environment, err error) {
	return e, tx.get(ctx, environmentsT, &e, tenant, project, name)
}

// UpdateEnvironment implements tenancy.Store.
func (tx *Tx) UpdateEnvironment(ctx context.Context, e tenancy.Environment, prevRV int64) error {
	bound, err := tx.exists(ctx, "environments", "cluster = ? AND namespace = ? AND NOT (tenant = ? AND project = ? AND name = ?)",
		e.Cluster, e.Namespace, e.Tenant, e.Project, e.Name)
	if err != nil {
		return err
	}
	if bound {
		return fmt.Errorf("%w: cluster %s namespace %s is bound to another environment", resource.ErrAlreadyExists, e.Cluster, e.Namespace)
	}
	return tx.update(ctx, environmentsT, []any{e.Tenant, e.Project, e.Name}, []any{e.Cluster, e.Namespace}, prevRV, e.ResourceVersion, e)
}

// DeleteEnvironment implements tenancy.Store.
func (tx *Tx) DeleteEnvironment(ctx context.Context, tenant, project, name string, prevRV int64) error {
	return tx.del(ctx, environmentsT, []any{tenant, project, name}, prevRV)
}

// ListEnvironments implements tenancy.Store.
func (tx *Tx) ListEnvironments(ctx context.Context, tenant, project, after string, limit int) ([]tenancy.Environment, error) {
	return list[tenancy.Environment](ctx, tx, environmentsT, []any{tenant, project}, after, limit)
}

// CreateCluster implements tenancy.Store.
func (tx *Tx) CreateCluster(ctx context.Context, c tenancy.ClusterRecord) error {
	return tx.insert(ctx, clustersT, []any{c.Name}, nil, c.ResourceVersion, c)
}

// GetCluster implements tenancy.Store.
func (tx *Tx) GetCluster(ctx context.Context, name string) (c tenancy.ClusterRecord, err error) {
	return c, tx.get(ctx, clustersT, &c, name)
}

// UpdateCluster implements tenancy.Store.
func (tx *Tx) UpdateCluster(ctx context.Context, c tenancy.ClusterRecord, prevRV int64) error {
	return tx.update(ctx, clustersT, []any{c.Name}, nil, prevRV, c.ResourceVersion, c)
}

// DeleteCluster implements tenancy.Store: only a cluster no environment
// is bound to.
func (tx *Tx) DeleteCluster(ctx context.Context, name string, prevRV int64) error {
	if err := tx.inUse(ctx, "environments are bound to the cluster", "environments", "cluster = ?", name); err != nil {
		return err
	}
	return tx.del(ctx, clustersT, []any{name}, prevRV)
}

// ListClusters implements tenancy.Store.
func (tx *Tx) ListClusters(ctx context.Context, after string, limit int) ([]tenancy.ClusterRecord, error) {
	return list[tenancy.ClusterRecord](ctx, tx, clustersT, nil, after, limit)
}

// CreateMember implements tenancy.Store.
func (tx *Tx) CreateMember(ctx context.Context, m tenancy.Member) error {
	return tx.insert(ctx, membersT, []any{m.Scope.Tenant, m.Scope.Project, m.Key()}, []any{m.User}, m.ResourceVersion, m)
}

// GetMember implements tenancy.Store.
func (tx *Tx) GetMember(ctx context.Context, s tenancy.Scope, key string) (m tenancy.Member, err error) {
	return m, tx.get(ctx, membersT, &m, s.Tenant, s.Project, key)
}

// DeleteMember implements tenancy.Store.
func (tx *Tx) DeleteMember(ctx context.Context, s tenancy.Scope, key string, prevRV int64) error {
	return tx.del(ctx, membersT, []any{s.Tenant, s.Project, key}, prevRV)
}

// ListMembers implements tenancy.Store.
func (tx *Tx) ListMembers(ctx context.Context, s tenancy.Scope, after string, limit int) ([]tenancy.Member, error) {
	return list[tenancy.Member](ctx, tx, membersT, []any{s.Tenant, s.Project}, after, limit)
}

// MembershipsOf implements tenancy.Store.
func (tx *Tx) MembershipsOf(ctx context.Context, user string) ([]tenancy.Member, error) {
	return scanBodies[tenancy.Member](ctx, tx, membersT,
		"SELECT body FROM members WHERE usr = ? ORDER BY tenant, project, name", user)
}

// PutQuota implements tenancy.Store.
func (tx *Tx) PutQuota(ctx context.Context, q tenancy.Quota, prevRV int64) error {
	keys := []any{q.Scope.Tenant, q.Scope.Project}
	if prevRV == 0 {
		return tx.insert(ctx, quotasT, keys, nil, q.ResourceVersion, q)
	}
	return tx.update(ctx, quotasT, keys, nil, prevRV, q.ResourceVersion, q)
}

// GetQuota implements tenancy.Store.
func (tx *Tx) GetQuota(ctx context.Context, s tenancy.Scope) (q tenancy.Quota, err error) {
	return q, tx.get(ctx, quotasT, &q, s.Tenant, s.Project)
}

// DeleteQuota implements tenancy.Store.
func (tx *Tx) DeleteQuota(ctx context.Context, s tenancy.Scope, prevRV int64) error {
	return tx.del(ctx, quotasT, []any{s.Tenant, s.Project}, prevRV)
}

// ListProjectQuotas implements tenancy.Store.
func (tx *Tx) ListProjectQuotas(ctx context.Context, tenant string) ([]tenancy.Quota, error) {
	return scanBodies[tenancy.Quota](ctx, tx, quotasT,
		"SELECT body FROM quotas WHERE tenant = ? AND project <> '' ORDER BY project", tenant)
}

// reservationColumns are the reservation columns by resource, in order;
// the bandwidth columns came with migration 0004.
var reservationColumns = []struct {
	col  string
	name resource.Name
}{
	{"cpu", resource.CPU}, {"memory", resource.Memory}, {"containers", resource.Containers},
	{"storage", resource.Storage}, {"config_items", resource.ConfigItems},
	{"ingress_bandwidth", resource.IngressBandwidth}, {"egress_bandwidth", resource.EgressBandwidth},
}

var reservationCols = func() string {
	cols := make([]string, len(reservationColumns))
	for i, c := range reservationColumns {
		cols[i] = c.col
	}
	return strings.Join(cols, ", ")
}()

func reservationArgs(l resource.List) []any {
	out := make([]any, len(reservationColumns))
	for i, c := range reservationColumns {
		out[i] = int64(l[c.name])
	}
	return out
}

// PutReservation implements tenancy.Store.
func (tx *Tx) PutReservation(ctx context.Context, r tenancy.Reservation) error {
	args := append([]any{r.Tenant, r.Project, r.Application}, reservationArgs(r.Resources)...)
	set := make([]string, len(reservationColumns))
	for i, c := range reservationColumns {
		set[i] = c.col + " = excluded." + c.col
	}
	_, err := tx.exec(ctx, `INSERT INTO reservations (tenant, project, application, `+reservationCols+`)
		VALUES (?, ?, ?`+strings.Repeat(", ?", len(reservationColumns))+`)
		ON CONFLICT (tenant, project, application) DO UPDATE SET `+strings.Join(set, ", "), args...)
	return notFound(tx, err)
}

// GetReservation implements tenancy.Store.
func (tx *Tx) GetReservation(ctx context.Context, tenant, project, app string) (tenancy.Reservation, error) {
	l, err := tx.sumReservations(ctx, "SELECT "+reservationCols+" FROM reservations WHERE tenant = ? AND project = ? AND application = ?",
		tenant, project, app)
	if err != nil {
		return tenancy.Reservation{}, err
	}
	return tenancy.Reservation{Tenant: tenant, Project: project, Application: app, Resources: l}, nil
}

// DeleteReservation implements tenancy.Store.
func (tx *Tx) DeleteReservation(ctx context.Context, tenant, project, app string) error {
	_, err := tx.exec(ctx, "DELETE FROM reservations WHERE tenant = ? AND project = ? AND application = ?", tenant, project, app)
	return err
}

// SumReservations implements tenancy.Store.
func (tx *Tx) SumReservations(ctx context.Context, tenant, project string) (resource.List, error) {
	sums := make([]string, len(reservationColumns))
	for i, c := range reservationColumns {
		sums[i] = sumCol(c.col)
	}
	q := "SELECT " + strings.Join(sums, ", ") + " FROM reservations WHERE tenant = ?"
	args := []any{tenant}
	if project != "" {
		q += " AND project = ?"
		args = append(args, project)
	}
	return tx.sumReservations(ctx, q, args...)
}

func (tx *Tx) sumReservations(ctx context.Context, q string, args ...any) (resource.List, error) {
	v := make([]int64, len(reservationColumns))
	ptrs := make([]any, len(v))
	for i := range v {
		ptrs[i] = &v[i]
	}
	if err := tx.queryRow(ctx, q, args...).Scan(ptrs...); err != nil {
		return nil, notFound(tx, err)
	}
	out := resource.List{}
	for i, c := range reservationColumns {
		if v[i] != 0 || i < 5 {
			out[c.name] = resource.Quantity(v[i])
		}
	}
	return out, nil
}

// sumCol sums a column as BIGINT in both dialects (PostgreSQL's SUM of
// BIGINT is NUMERIC).
func sumCol(c string) string { return "CAST(COALESCE(SUM(" + c + "), 0) AS BIGINT)" }
