package store

import (
	"context"
	"database/sql"
	"errors"

	"berth.dev/berth/internal/configcenter"
)

var (
	configItemsT     = table{name: "config_items", keys: []string{"tenant", "project", "environment", "name"}, extra: []string{"secret"}}
	configRevisionsT = table{name: "config_revisions", keys: []string{"tenant", "project", "environment", "name", "num"}, extra: []string{"secret"}}
)

var _ configcenter.Store = (*Tx)(nil)

func itemKeys(k configcenter.Key) []any {
	return []any{k.Tenant, k.Project, k.Environment, k.Name()}
}

// secretCol is the secret column's value: 1 for sealed content.
func secretCol(secret bool) []any {
	if secret {
		return []any{1}
	}
	return []any{0}
}

// CreateConfigItem implements configcenter.Store.
func (tx *Tx) CreateConfigItem(ctx context.Context, it configcenter.Item) error {
	return tx.insert(ctx, configItemsT, itemKeys(it.Key), secretCol(it.Secret), it.ResourceVersion, it)
}

// GetConfigItem implements configcenter.Store.
func (tx *Tx) GetConfigItem(ctx context.Context, k configcenter.Key) (it configcenter.Item, err error) {
	return it, tx.get(ctx, configItemsT, &it, itemKeys(k)...)
}

// UpdateConfigItem implements configcenter.Store.
func (tx *Tx) UpdateConfigItem(ctx context.Context, it configcenter.Item, prevRV int64) error {
	return tx.update(ctx, configItemsT, itemKeys(it.Key), secretCol(it.Secret), prevRV, it.ResourceVersion, it)
}

// DeleteConfigItem implements configcenter.Store.
func (tx *Tx) DeleteConfigItem(ctx context.Context, k configcenter.Key, prevRV int64) error {
	return tx.del(ctx, configItemsT, itemKeys(k), prevRV)
}

// ListConfigItems implements configcenter.Store.
func (tx *Tx) ListConfigItems(ctx context.Context, e configcenter.Env, after string, limit int) ([]configcenter.Item, error) {
	return list[configcenter.Item](ctx, tx, configItemsT, []any{e.Tenant, e.Project, e.Environment}, after, limit)
}

// CountConfigItems implements configcenter.Store.
func (tx *Tx) CountConfigItems(ctx context.Context, e configcenter.Env) (int, error) {
	var n int
	err := tx.queryRow(ctx, "SELECT COUNT(*) FROM config_items WHERE tenant = ? AND project = ? AND environment = ?",
		e.Tenant, e.Project, e.Environment).Scan(&n)
	return n, tx.d.translate(err)
}

// CreateConfigRevision implements configcenter.Store.
func (tx *Tx) CreateConfigRevision(ctx context.Context, r configcenter.Revision) error {
	return tx.insert(ctx, configRevisionsT, append(itemKeys(r.Key), r.Number), secretCol(r.Secret), 0, r)
}

// GetConfigRevision implements configcenter.Store.
func (tx *Tx) GetConfigRevision(ctx context.Context, k configcenter.Key, n int64) (r configcenter.Revision, err error) {
	return r, tx.get(ctx, configRevisionsT, &r, append(itemKeys(k), n)...)
}

// UpdateConfigRevision implements configcenter.Store: only its decision
// (state, approvals) changes; the content never does.
func (tx *Tx) UpdateConfigRevision(ctx context.Context, r configcenter.Revision) error {
	return tx.update(ctx, configRevisionsT, append(itemKeys(r.Key), r.Number), secretCol(r.Secret), 0, 0, r)
}

// ListConfigRevisions implements configcenter.Store.
func (tx *Tx) ListConfigRevisions(ctx context.Context, k configcenter.Key, before int64, limit int) ([]configcenter.Revision, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return scanBodies[configcenter.Revision](ctx, tx, configRevisionsT,
		"SELECT body FROM config_revisions WHERE tenant = ? AND project = ? AND environment = ? AND name = ? AND num < ? ORDER BY num DESC LIMIT ?",
		append(itemKeys(k), before, limit)...)
}

// LastConfigRevision implements configcenter.Store.
func (tx *Tx) LastConfigRevision(ctx context.Context, k configcenter.Key) (int64, error) {
	var n sql.NullInt64
	err := tx.queryRow(ctx, "SELECT MAX(num) FROM config_revisions WHERE tenant = ? AND project = ? AND environment = ? AND name = ?",
		itemKeys(k)...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, tx.d.translate(err)
	}
	return n.Int64, nil
}

// SecretConfigItems implements configcenter.Store.
func (tx *Tx) SecretConfigItems(ctx context.Context) ([]configcenter.Item, error) {
	return scanBodies[configcenter.Item](ctx, tx, configItemsT,
		"SELECT body FROM config_items WHERE secret = 1 ORDER BY tenant, project, environment, name")
}

// SecretConfigRevisions implements configcenter.Store.
func (tx *Tx) SecretConfigRevisions(ctx context.Context) ([]configcenter.Revision, error) {
	return scanBodies[configcenter.Revision](ctx, tx, configRevisionsT,
		"SELECT body FROM config_revisions WHERE secret = 1 ORDER BY tenant, project, environment, name, num")
}
