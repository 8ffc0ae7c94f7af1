package store

import (
	"context"

	"berth.dev/berth/internal/alert"
)

var alertHistoryT = table{name: "alert_history", keys: []string{"tenant", "project", "id"}}

var _ alert.HistoryStore = (*Tx)(nil)

// CreateAlertEvent implements alert.HistoryStore.
func (tx *Tx) CreateAlertEvent(ctx context.Context, e alert.Event) error {
	return tx.insert(ctx, alertHistoryT, []any{e.Tenant, e.Project, e.ID}, nil, e.ResourceVersion, e)
}

// GetAlertEvent implements alert.HistoryStore.
func (tx *Tx) GetAlertEvent(ctx context.Context, tenant, project, id string) (e alert.Event, err error) {
	return e, tx.get(ctx, alertHistoryT, &e, tenant, project, id)
}

// UpdateAlertEvent implements alert.HistoryStore.
func (tx *Tx) UpdateAlertEvent(ctx context.Context, e alert.Event, prevRV int64) error {
	return tx.update(ctx, alertHistoryT, []any{e.Tenant, e.Project, e.ID}, nil, prevRV, e.ResourceVersion, e)
}

// ListAlertEvents implements alert.HistoryStore: IDs begin with the
// alert's start, so their order is the starts'.
func (tx *Tx) ListAlertEvents(ctx context.Context, tenant, project string, limit int) ([]alert.Event, error) {
	return scanBodies[alert.Event](ctx, tx, alertHistoryT,
		"SELECT body FROM alert_history WHERE tenant = ? AND project = ? ORDER BY id DESC LIMIT ?", tenant, project, limit)
}

// TrimAlertEvents implements alert.HistoryStore: everything older than
// the keep-th newest goes.
func (tx *Tx) TrimAlertEvents(ctx context.Context, tenant, project string, keep int) error {
	_, err := tx.exec(ctx, `DELETE FROM alert_history WHERE tenant = ? AND project = ? AND id <
		(SELECT id FROM alert_history WHERE tenant = ? AND project = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		tenant, project, tenant, project, max(keep-1, 0))
	return err
}
