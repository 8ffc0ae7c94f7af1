package store

import (
	"context"

	"berth.dev/berth/internal/alert"
)

var (
	alertRulesT     = table{name: "alert_rules", keys: []string{"tenant", "project", "name"}}
	alertReceiversT = table{name: "alert_receivers", keys: []string{"tenant", "project", "name"}}
)

var _ alert.Store = (*Tx)(nil)

// maxAll bounds the rows a list of every project's rules or receivers reads.
const maxAll = 1 << 20

// CreateAlertRule implements alert.Store.
func (tx *Tx) CreateAlertRule(ctx context.Context, r alert.Rule) error {
	return tx.insert(ctx, alertRulesT, []any{r.Tenant, r.Project, r.Name}, nil, r.ResourceVersion, r)
}

// GetAlertRule implements alert.Store.
func (tx *Tx) GetAlertRule(ctx context.Context, tenant, project, name string) (r alert.Rule, err error) {
	return r, tx.get(ctx, alertRulesT, &r, tenant, project, name)
}

// UpdateAlertRule implements alert.Store.
func (tx *Tx) UpdateAlertRule(ctx context.Context, r alert.Rule, prevRV int64) error {
	return tx.update(ctx, alertRulesT, []any{r.Tenant, r.Project, r.Name}, nil, prevRV, r.ResourceVersion, r)
}

// DeleteAlertRule implements alert.Store.
func (tx *Tx) DeleteAlertRule(ctx context.Context, tenant, project, name string) error {
	return tx.del(ctx, alertRulesT, []any{tenant, project, name}, 0)
}

// ListAlertRules implements alert.Store.
func (tx *Tx) ListAlertRules(ctx context.Context, tenant, project string) ([]alert.Rule, error) {
	return list[alert.Rule](ctx, tx, alertRulesT, []any{tenant, project}, "", maxAll)
}

// AllAlertRules implements alert.Store.
func (tx *Tx) AllAlertRules(ctx context.Context) ([]alert.Rule, error) {
	return scanBodies[alert.Rule](ctx, tx, alertRulesT, "SELECT body FROM alert_rules ORDER BY tenant, project, name")
}

// CreateAlertReceiver implements alert.Store.
func (tx *Tx) CreateAlertReceiver(ctx context.Context, r alert.Receiver) error {
	return tx.insert(ctx, alertReceiversT, []any{r.Tenant, r.Project, r.Name}, nil, r.ResourceVersion, r)
}

// GetAlertReceiver implements alert.Store.
func (tx *Tx) GetAlertReceiver(ctx context.Context, tenant, project, name string) (r alert.Receiver, err error) {
	return r, tx.get(ctx, alertReceiversT, &r, tenant, project, name)
}

// UpdateAlertReceiver implements alert.Store.
func (tx *Tx) UpdateAlertReceiver(ctx context.Context, r alert.Receiver, prevRV int64) error {
	return tx.update(ctx, alertReceiversT, []any{r.Tenant, r.Project, r.Name}, nil, prevRV, r.ResourceVersion, r)
}

// DeleteAlertReceiver implements alert.Store.
func (tx *Tx) DeleteAlertReceiver(ctx context.Context, tenant, project, name string) error {
	return tx.del(ctx, alertReceiversT, []any{tenant, project, name}, 0)
}

// ListAlertReceivers implements alert.Store.
func (tx *Tx) ListAlertReceivers(ctx context.Context, tenant, project string) ([]alert.Receiver, error) {
	return list[alert.Receiver](ctx, tx, alertReceiversT, []any{tenant, project}, "", maxAll)
}

// AllAlertReceivers implements alert.Store.
func (tx *Tx) AllAlertReceivers(ctx context.Context) ([]alert.Receiver, error) {
	return scanBodies[alert.Receiver](ctx, tx, alertReceiversT, "SELECT body FROM alert_receivers ORDER BY tenant, project, name")
}
