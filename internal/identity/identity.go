// Package identity knows who is who: local users with argon2id password
// hashes, API tokens and console sessions (both stored only as SHA-256
// hashes of their random secrets, expiring and revocable), and the
// Provider interface through which LDAP or OIDC can authenticate later.
//
// Transactions work as in package tenancy: every Service method takes the
// transaction-bound Store and writes its audit record through it. A failed
// login returns resource.ErrUnauthenticated and writes nothing; the caller
// records the failure in a transaction of its own (platform.Platform.Do).
package identity

import (
	"context"
	"time"

	"berth.dev/berth/internal/authz"
)

// User is a person or robot account.
type User struct {
	Name            string    `json:"name"`
	DisplayName     string    `json:"displayName,omitempty"`
	Email           string    `json:"email,omitempty"`
	Disabled        bool      `json:"disabled,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// UserRecord is a User as stored, with its password hash in PHC form
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"); empty for users that
// authenticate elsewhere.
type UserRecord struct {
	User
	PasswordHash string `json:"passwordHash,omitempty"`
}

// Token is an API token of a user for the CLI. Its secret is shown once,
// at creation.
type Token struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expiresAt"`
	CreatedAt time.Time `json:"createdAt"`
	// RevokedAt is zero unless the token was revoked.
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	// Role, when set, is the only role the token carries (at the platform
	// scope) in place of its user's bindings: a gateway token reads the
	// gateway configuration and nothing else.
	Role authz.Role `json:"role,omitempty"`
}

// TokenRecord is a Token as stored, with the SHA-256 (hex) of its secret.
type TokenRecord struct {
	Token
	SecretHash string `json:"-"`
}

// Session is a console login. Its secret lives only in the browser's
// cookie.
type Session struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expiresAt"`
	CreatedAt time.Time `json:"createdAt"`
}

// SessionRecord is a Session as stored, with the SHA-256 (hex) of its secret.
type SessionRecord struct {
	Session
	SecretHash string `json:"-"`
}

// Provider authenticates a user name and password. The local provider
// checks the stored argon2id hash; an LDAP or OIDC provider would ask its
// directory. A login calls it in a read-only transaction, so that no
// password is hashed under the database's write lock: a provider that
// creates or updates users must do so when the session is opened.
type Provider interface {
	// Name is the provider's name in audit summaries ("local", "ldap").
	Name() string
	// Authenticate returns the user, or resource.ErrUnauthenticated.
	Authenticate(ctx context.Context, st Store, username, password string) (User, error)
}
