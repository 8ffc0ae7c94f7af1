package store

import (
	"context"

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
