package identity

import (
	"context"
	"time"

	"berth.dev/berth/internal/audit"
)

// Store is what identity needs from persistence, bound to one transaction,
// with the conventions of tenancy.Store (ErrNotFound, ErrAlreadyExists,
// ErrConflict on a stale prevRV).
type Store interface {
	audit.Writer

	CreateUser(ctx context.Context, u UserRecord) error
	GetUser(ctx context.Context, name string) (UserRecord, error)
	UpdateUser(ctx context.Context, u UserRecord, prevRV int64) error
	// DeleteUser deletes the user with its tokens and sessions.
	DeleteUser(ctx context.Context, name string, prevRV int64) error
	ListUsers(ctx context.Context, after string, limit int) ([]UserRecord, error)
	CountUsers(ctx context.Context) (int64, error)

	CreateToken(ctx context.Context, t TokenRecord) error
	// GetTokenBySecretHash finds a token by the hash of its secret.
	GetTokenBySecretHash(ctx context.Context, hash string) (TokenRecord, error)
	GetToken(ctx context.Context, user, id string) (TokenRecord, error)
	// RevokeToken sets the token's RevokedAt.
	RevokeToken(ctx context.Context, user, id string, at time.Time) error
	// ListTokens lists a user's tokens by ID.
	ListTokens(ctx context.Context, user, after string, limit int) ([]TokenRecord, error)

	CreateSession(ctx context.Context, s SessionRecord) error
	GetSessionBySecretHash(ctx context.Context, hash string) (SessionRecord, error)
	DeleteSession(ctx context.Context, user, id string) error
	// DeleteUserSessions removes every session of user.
	DeleteUserSessions(ctx context.Context, user string) (int64, error)
	// DeleteExpiredSessions removes sessions that expired before t.
	DeleteExpiredSessions(ctx context.Context, t time.Time) (int64, error)
}
