package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
)

var (
	grayPlansT = table{name: "gray_plans", keys: []string{"tenant", "project", "environment", "application"}}
	orgUnitsT  = table{name: "org_units", keys: []string{"tenant", "level", "code"}}
)

func planKeys(k deploy.Key) []any {
	return []any{k.Tenant, k.Project, k.Environment, k.Application}
}

// CreatePlan implements gray.Store.
func (tx *Tx) CreatePlan(ctx context.Context, p gray.Plan) error {
	return tx.insert(ctx, grayPlansT, planKeys(p.Key()), nil, p.ResourceVersion, p)
}

// GetPlan implements gray.Store.
func (tx *Tx) GetPlan(ctx context.Context, k deploy.Key) (p gray.Plan, err error) {
	return p, tx.get(ctx, grayPlansT, &p, planKeys(k)...)
}

// UpdatePlan implements gray.Store.
func (tx *Tx) UpdatePlan(ctx context.Context, p gray.Plan, prevRV int64) error {
	return tx.update(ctx, grayPlansT, planKeys(p.Key()), nil, prevRV, p.ResourceVersion, p)
}

// DeletePlan implements gray.Store.
func (tx *Tx) DeletePlan(ctx context.Context, k deploy.Key) error {
	return tx.del(ctx, grayPlansT, planKeys(k), 0)
}

// ListPlans implements gray.Store; the filter's Application is honoured too.
func (tx *Tx) ListPlans(ctx context.Context, f deploy.Filter) ([]gray.Plan, error) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, val string }{
		{"tenant", f.Tenant}, {"project", f.Project}, {"environment", f.Environment}, {"application", f.Application},
	} {
		if c.val != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	q := "SELECT body FROM gray_plans"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY tenant, project, environment, application"
	return scanBodies[gray.Plan](ctx, tx, grayPlansT, q, args...)
}

// ReplaceOrgUnits implements gray.Store.
func (tx *Tx) ReplaceOrgUnits(ctx context.Context, tenant string, units []gray.OrgUnit) error {
	if _, err := tx.exec(ctx, "DELETE FROM org_units WHERE tenant = ?", tenant); err != nil {
		return err
	}
	for _, u := range units {
		if err := tx.insertOrgUnit(ctx, tenant, u); err != nil {
			return err
		}
	}
	return nil
}

func (tx *Tx) insertOrgUnit(ctx context.Context, tenant string, u gray.OrgUnit) error {
	body, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encode org unit: %w", err)
	}
	_, err = tx.exec(ctx, "INSERT INTO org_units (tenant, level, code, body) VALUES (?, ?, ?, ?)", tenant, string(u.Level), u.Code, string(body))
	return notFound(tx, err)
}

// ListOrgUnits implements gray.Store.
func (tx *Tx) ListOrgUnits(ctx context.Context, tenant string) ([]gray.OrgUnit, error) {
	return scanBodies[gray.OrgUnit](ctx, tx, orgUnitsT,
		"SELECT body FROM org_units WHERE tenant = ? ORDER BY CASE level WHEN 'region' THEN 1 WHEN 'branch' THEN 2 ELSE 3 END, code", tenant)
}

var _ gray.Store = (*Tx)(nil)
