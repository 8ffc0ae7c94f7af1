package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

var ordersT = table{name: "release_orders", keys: []string{"tenant", "project", "id"}, extra: []string{"environment", "state", "created"}}

func orderExtra(o release.Order) []any {
	return []any{o.Environment, string(o.State), release.CreatedKey(o)}
}

// CreateOrder implements release.Store.
func (tx *Tx) CreateOrder(ctx context.Context, o release.Order) error {
	return tx.insert(ctx, ordersT, []any{o.Tenant, o.Project, o.ID}, orderExtra(o), o.ResourceVersion, o)
}

// GetOrder implements release.Store.
func (tx *Tx) GetOrder(ctx context.Context, tenant, project, id string) (o release.Order, err error) {
	return o, tx.get(ctx, ordersT, &o, tenant, project, id)
}

// UpdateOrder implements release.Store.
func (tx *Tx) UpdateOrder(ctx context.Context, o release.Order, prevRV int64) error {
	return tx.update(ctx, ordersT, []any{o.Tenant, o.Project, o.ID}, orderExtra(o), prevRV, o.ResourceVersion, o)
}

// ListOrders implements release.Store: newest first. The page token is
// release.PageKey of the last order.
func (tx *Tx) ListOrders(ctx context.Context, f release.Filter, after string, limit int) ([]release.Order, error) {
	conds := []string{"tenant = ?", "project = ?"}
	args := []any{f.Tenant, f.Project}
	if f.Environment != "" {
		conds = append(conds, "environment = ?")
		args = append(args, f.Environment)
	}
	if after != "" {
		created, id, _ := strings.Cut(after, "/")
		conds = append(conds, "(created < ? OR (created = ? AND id < ?))")
		args = append(args, created, created, id)
	}
	q := "SELECT body FROM release_orders WHERE " + strings.Join(conds, " AND ") + " ORDER BY created DESC, id DESC"
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	return scanBodies[release.Order](ctx, tx, ordersT, q, args...)
}

// ActiveOrders implements release.Store.
func (tx *Tx) ActiveOrders(ctx context.Context) ([]release.Order, error) {
	return scanBodies[release.Order](ctx, tx, ordersT,
		"SELECT body FROM release_orders WHERE state IN (?, ?, ?) ORDER BY created, id",
		string(release.Running), string(release.Failed), string(release.RollingBack))
}

// LockApplication implements release.Store.
func (tx *Tx) LockApplication(ctx context.Context, l release.Lock) error {
	res, err := tx.exec(ctx, "INSERT INTO release_locks (tenant, project, environment, application, order_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		l.Tenant, l.Project, l.Environment, l.Application, l.Order)
	if errors.Is(err, errForeignKey) {
		return errors.Join(resource.ErrNotFound, err)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return resource.ErrAlreadyExists
	}
	return nil
}

// GetLock implements release.Store.
func (tx *Tx) GetLock(ctx context.Context, tenant, project, environment, application string) (release.Lock, error) {
	l := release.Lock{Tenant: tenant, Project: project, Environment: environment, Application: application}
	err := tx.queryRow(ctx, "SELECT order_id FROM release_locks WHERE tenant = ? AND project = ? AND environment = ? AND application = ?",
		tenant, project, environment, application).Scan(&l.Order)
	return l, notFound(tx, err)
}

// UnlockOrder implements release.Store.
func (tx *Tx) UnlockOrder(ctx context.Context, tenant, project, id string) error {
	_, err := tx.exec(ctx, "DELETE FROM release_locks WHERE tenant = ? AND project = ? AND order_id = ?", tenant, project, id)
	return err
}

// EnqueueNotification implements notify.Store.
func (tx *Tx) EnqueueNotification(ctx context.Context, m notify.Message) error {
	m.ID = 0
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	_, err = tx.exec(ctx, "INSERT INTO notifications (body) VALUES (?)", string(body))
	return err
}

// PendingNotifications implements notify.Store.
func (tx *Tx) PendingNotifications(ctx context.Context, limit int) ([]notify.Message, error) {
	rows, err := tx.query(ctx, "SELECT id, body FROM notifications ORDER BY id LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []notify.Message
	for rows.Next() {
		var id int64
		var body string
		if err := rows.Scan(&id, &body); err != nil {
			return nil, tx.d.translate(err)
		}
		var m notify.Message
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			return nil, fmt.Errorf("decode notification %d: %w", id, err)
		}
		m.ID = id
		out = append(out, m)
	}
	return out, tx.d.translate(rows.Err())
}

// UpdateNotification implements notify.Store.
func (tx *Tx) UpdateNotification(ctx context.Context, m notify.Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	res, err := tx.exec(ctx, "UPDATE notifications SET body = ? WHERE id = ?", string(body), m.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return resource.ErrNotFound
	}
	return nil
}

// DeleteNotification implements notify.Store.
func (tx *Tx) DeleteNotification(ctx context.Context, id int64) error {
	_, err := tx.exec(ctx, "DELETE FROM notifications WHERE id = ?", id)
	return err
}

var _ release.Store = (*Tx)(nil)
