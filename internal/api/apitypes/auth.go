package apitypes

import (
	"time"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/identity"
)

// LoginRequest is the body of POST /login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Directory names the LDAP directory to check the password with; empty
	// tries local users first, then each configured directory in order.
	Directory string `json:"directory,omitempty"`
	// Token, when set, asks for an API token (for the CLI) instead of a
	// console session cookie.
	Token *TokenRequest `json:"token,omitempty"`
}

// TokenRequest asks for an API token.
type TokenRequest struct {
	Name string `json:"name"`
	// TTL is a Go duration ("720h"); empty means the server's default. A
	// token created with a token expires no later than that one.
	TTL string `json:"ttl,omitempty"`
	// Role, when set, makes a token that carries only this role instead
	// of the user's bindings: "gateway" reads the gateway configuration
	// and nothing else. Only a platform admin issues them.
	Role authz.Role `json:"role,omitempty"`
}

// SSOTokenRequest redeems a CLI sign-in (berth login --sso): the one-time
// code the browser brought back to the CLI's loopback address, and the
// PKCE verifier whose S256 challenge started the sign-in.
type SSOTokenRequest struct {
	Code     string       `json:"code"`
	Verifier string       `json:"verifier"`
	Token    TokenRequest `json:"token"`
}

// LoginResponse answers a successful login.
type LoginResponse struct {
	User      identity.User `json:"user"`
	ExpiresAt time.Time     `json:"expiresAt"`
	// CSRFToken is for console sessions: send it back in X-CSRF-Token.
	CSRFToken string `json:"csrfToken,omitempty"`
	// Token is the API token's secret, shown only now.
	Token   string          `json:"token,omitempty"`
	TokenID string          `json:"tokenId,omitempty"`
	Roles   []authz.Binding `json:"roles"`
}

// WhoAmI describes the caller.
type WhoAmI struct {
	User  identity.User   `json:"user"`
	Roles []authz.Binding `json:"roles"`
}

// Permissions lists what the caller may do at Scope.
type Permissions struct {
	Scope       authz.Scope        `json:"scope"`
	Permissions []authz.Permission `json:"permissions"`
}

// UserRequest creates a user.
type UserRequest struct {
	identity.User
	// Password is the initial password (at least 12 characters); empty
	// for users of another identity provider.
	Password string `json:"password,omitempty"`
}

// PasswordRequest sets a password.
type PasswordRequest struct {
	Password string `json:"password"`
	// CurrentPassword is required to change one's own password (a
	// platform admin resetting another user's password leaves it out).
	CurrentPassword string `json:"currentPassword,omitempty"`
}

// TokenCreated is a new API token with its secret, shown only once.
type TokenCreated struct {
	identity.Token
	Secret string `json:"secret"`
}

// Role is a role a binding or a token carries, as the API spells it.
type Role = authz.Role

// User is a user account as the API returns it.
type User = identity.User
