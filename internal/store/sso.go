package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"berth.dev/berth/internal/resource"

	"berth.dev/berth/internal/sso"
)

var (
	groupBindingsT = table{name: "group_bindings", keys: []string{"name"}, extra: []string{"provider"}}
	ssoLinksT      = table{name: "sso_links", keys: []string{"usr"}}
)

var _ sso.Store = (*Tx)(nil)

// CreateGroupBinding implements sso.Store.
func (tx *Tx) CreateGroupBinding(ctx context.Context, b sso.GroupBinding) error {
	return tx.insert(ctx, groupBindingsT, []any{b.Name}, []any{b.Provider}, b.ResourceVersion, b)
}

// GetGroupBinding implements sso.Store.
func (tx *Tx) GetGroupBinding(ctx context.Context, name string) (b sso.GroupBinding, err error) {
	return b, tx.get(ctx, groupBindingsT, &b, name)
}

// UpdateGroupBinding implements sso.Store.
func (tx *Tx) UpdateGroupBinding(ctx context.Context, b sso.GroupBinding, prevRV int64) error {
	return tx.update(ctx, groupBindingsT, []any{b.Name}, []any{b.Provider}, prevRV, b.ResourceVersion, b)
}

// DeleteGroupBinding implements sso.Store.
func (tx *Tx) DeleteGroupBinding(ctx context.Context, name string, prevRV int64) error {
	return tx.del(ctx, groupBindingsT, []any{name}, prevRV)
}

// ListGroupBindings implements sso.Store.
func (tx *Tx) ListGroupBindings(ctx context.Context, after string, limit int) ([]sso.GroupBinding, error) {
	return list[sso.GroupBinding](ctx, tx, groupBindingsT, nil, after, limit)
}

// GroupBindingsOf implements sso.Store.
func (tx *Tx) GroupBindingsOf(ctx context.Context, provider string) ([]sso.GroupBinding, error) {
	return scanBodies[sso.GroupBinding](ctx, tx, groupBindingsT,
		"SELECT body FROM group_bindings WHERE provider = ? ORDER BY name", provider)
}

// PutLink implements sso.Store.
func (tx *Tx) PutLink(ctx context.Context, l sso.Link, prevRV int64) error {
	if prevRV == 0 {
		return tx.insert(ctx, ssoLinksT, []any{l.User}, nil, l.ResourceVersion, l)
	}
	return tx.update(ctx, ssoLinksT, []any{l.User}, nil, prevRV, l.ResourceVersion, l)
}

// GetLink implements sso.Store.
func (tx *Tx) GetLink(ctx context.Context, user string) (l sso.Link, err error) {
	return l, tx.get(ctx, ssoLinksT, &l, user)
}

// ListLinks implements sso.Store.
func (tx *Tx) ListLinks(ctx context.Context, after string, limit int) ([]sso.Link, error) {
	return list[sso.Link](ctx, tx, ssoLinksT, nil, after, limit)
}

// PutPending implements sso.FlowStore.
func (tx *Tx) PutPending(ctx context.Context, key string, p sso.Pending, now time.Time) (int, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("encode sign-in: %w", err)
	}
	if _, err := tx.exec(ctx, "DELETE FROM sso_flows WHERE expires_at <= ?", now.UnixMicro()); err != nil {
		return 0, err
	}
	if _, err := tx.exec(ctx, "INSERT INTO sso_flows (skey, expires_at, body) VALUES (?, ?, ?)", key, p.Expires.UnixMicro(), string(body)); err != nil {
		return 0, err
	}
	var n int
	if err := tx.queryRow(ctx, "SELECT COUNT(*) FROM sso_flows").Scan(&n); err != nil {
		return 0, tx.d.translate(err)
	}
	return n, nil
}

// TakePending implements sso.FlowStore.
func (tx *Tx) TakePending(ctx context.Context, key string) (sso.Pending, error) {
	var body string
	err := tx.queryRow(ctx, "DELETE FROM sso_flows WHERE skey = ? RETURNING body", key).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return sso.Pending{}, resource.ErrNotFound
	}
	if err != nil {
		return sso.Pending{}, tx.d.translate(err)
	}
	var p sso.Pending
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return sso.Pending{}, fmt.Errorf("decode sign-in: %w", err)
	}
	return p, nil
}
