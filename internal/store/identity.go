package store

import (
	"context"
	"time"

	"berth.dev/berth/internal/identity"
)

// CreateUser implements identity.Store.
func (tx *Tx) CreateUser(ctx context.Context, u identity.UserRecord) error {
	return tx.insert(ctx, usersT, []any{u.Name}, nil, u.ResourceVersion, u)
}

// GetUser implements identity.Store.
func (tx *Tx) GetUser(ctx context.Context, name string) (u identity.UserRecord, err error) {
	return u, tx.get(ctx, usersT, &u, name)
}

// UpdateUser implements identity.Store.
func (tx *Tx) UpdateUser(ctx context.Context, u identity.UserRecord, prevRV int64) error {
	return tx.update(ctx, usersT, []any{u.Name}, nil, prevRV, u.ResourceVersion, u)
}

// DeleteUser implements identity.Store; tokens and sessions go with it.
func (tx *Tx) DeleteUser(ctx context.Context, name string, prevRV int64) error {
	return tx.del(ctx, usersT, []any{name}, prevRV)
}

// ListUsers implements identity.Store.
func (tx *Tx) ListUsers(ctx context.Context, after string, limit int) ([]identity.UserRecord, error) {
	return list[identity.UserRecord](ctx, tx, usersT, nil, after, limit)
}

// CountUsers implements identity.Store.
func (tx *Tx) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	return n, notFound(tx, tx.queryRow(ctx, "SELECT count(*) FROM users").Scan(&n))
}

// CreateToken implements identity.Store.
func (tx *Tx) CreateToken(ctx context.Context, t identity.TokenRecord) error {
	return tx.insert(ctx, tokensT, []any{t.User, t.ID}, []any{t.SecretHash}, 1, t)
}

// GetTokenBySecretHash implements identity.Store.
func (tx *Tx) GetTokenBySecretHash(ctx context.Context, hash string) (identity.TokenRecord, error) {
	ts, err := scanBodies[identity.TokenRecord](ctx, tx, tokensT, "SELECT body FROM tokens WHERE secret_hash = ?", hash)
	return one(ts, hash, err)
}

// GetToken implements identity.Store.
func (tx *Tx) GetToken(ctx context.Context, user, id string) (t identity.TokenRecord, err error) {
	if err := tx.get(ctx, tokensT, &t, user, id); err != nil {
		return t, err
	}
	return t, nil
}

// RevokeToken implements identity.Store.
func (tx *Tx) RevokeToken(ctx context.Context, user, id string, at time.Time) error {
	t, err := tx.GetToken(ctx, user, id)
	if err != nil {
		return err
	}
	t.RevokedAt = at
	var hash string
	if err := tx.queryRow(ctx, "SELECT secret_hash FROM tokens WHERE usr = ? AND name = ?", user, id).Scan(&hash); err != nil {
		return notFound(tx, err)
	}
	return tx.update(ctx, tokensT, []any{user, id}, []any{hash}, 1, 1, t)
}

// ListTokens implements identity.Store.
func (tx *Tx) ListTokens(ctx context.Context, user, after string, limit int) ([]identity.TokenRecord, error) {
	return list[identity.TokenRecord](ctx, tx, tokensT, []any{user}, after, limit)
}

// CreateSession implements identity.Store.
func (tx *Tx) CreateSession(ctx context.Context, s identity.SessionRecord) error {
	return tx.insert(ctx, sessionsT, []any{s.User, s.ID}, []any{s.SecretHash, s.ExpiresAt.UnixMicro()}, 1, s)
}

// GetSessionBySecretHash implements identity.Store.
func (tx *Tx) GetSessionBySecretHash(ctx context.Context, hash string) (identity.SessionRecord, error) {
	ss, err := scanBodies[identity.SessionRecord](ctx, tx, sessionsT, "SELECT body FROM sessions WHERE secret_hash = ?", hash)
	return one(ss, hash, err)
}

// DeleteSession implements identity.Store.
func (tx *Tx) DeleteSession(ctx context.Context, user, id string) error {
	return tx.del(ctx, sessionsT, []any{user, id}, 0)
}

// DeleteUserSessions implements identity.Store.
func (tx *Tx) DeleteUserSessions(ctx context.Context, user string) (int64, error) {
	res, err := tx.exec(ctx, "DELETE FROM sessions WHERE usr = ?", user)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, tx.d.translate(err)
}

// DeleteExpiredSessions implements identity.Store.
func (tx *Tx) DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error) {
	res, err := tx.exec(ctx, "DELETE FROM sessions WHERE expires_at <= ?", t.UnixMicro())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, tx.d.translate(err)
}
