// Package sso is single sign-on: directories (LDAP, Active Directory) and
// OpenID Connect providers that vouch for who a person is and which groups
// they belong to, and the GroupBinding rules that turn those groups into
// Berth role bindings.
//
// Nothing here speaks a network protocol: the LDAP and OIDC clients are in
// internal/sso/ldap and internal/sso/oidc and reach this package through
// [PasswordDirectory] and [RedirectProvider]. What this package decides is
// the same whatever vouched:
//
//   - a person is provisioned as a Berth user on first sign-in, linked to
//     the provider and subject that vouched ([Link]); a local user, or a
//     user linked to another provider, is never taken over;
//   - the user's role bindings that came from GroupBindings are recomputed
//     at every sign-in (and every refresh): a binding whose group the person
//     left is revoked, one whose group they joined is granted. Bindings an
//     administrator granted by hand are left alone;
//   - a person the directory reports disabled is disabled in Berth too,
//     and their sessions end;
//   - every provisioned user, every binding granted or revoked and every
//     change of a GroupBinding is audited, through identity and tenancy.
//
// Transactions work as in package tenancy: Service methods take the
// transaction-bound Store.
package sso

import (
	"context"
	"errors"
	"time"

	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/tenancy"
)

// Kinds of provider.
const (
	KindLDAP = "ldap"
	KindOIDC = "oidc"
)

// ErrUnavailable is a directory or provider that did not answer (network,
// TLS, timeout, a service account it refused): nobody was authenticated,
// and local users still can sign in.
var ErrUnavailable = errors.New("identity provider unavailable")

// Identity is who a provider vouched for.
type Identity struct {
	// Provider is the name of the directory or OIDC provider.
	Provider string
	// Subject is the provider's stable identifier of the person: an LDAP
	// entry's DN, an OIDC "sub".
	Subject string
	// Username is the Berth user name the person signs in as.
	Username    string
	DisplayName string
	Email       string
	// Groups are the person's groups, nested ones included: LDAP group DNs
	// or the values of an OIDC groups claim.
	Groups []string
	// Disabled says the provider reports the account disabled.
	Disabled bool
}

// GroupBinding grants Role at Scope to every person of Provider who is a
// member of Group.
type GroupBinding struct {
	// Name identifies the binding.
	Name string `json:"name"`
	// Provider is the directory or OIDC provider whose groups it reads.
	Provider string `json:"provider"`
	// Group is an LDAP group DN (compared without regard to case) or a
	// value of an OIDC groups claim (compared exactly).
	Group string `json:"group"`
	// Role is granted at Scope.
	Role  tenancy.Role  `json:"role"`
	Scope tenancy.Scope `json:"scope"`

	ResourceVersion int64     `json:"resourceVersion"`
	CreatedBy       string    `json:"createdBy,omitempty"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Link ties a Berth user to the provider and subject that vouched for it,
// and remembers the role bindings GroupBindings granted it, so that the
// next sign-in revokes exactly those that no longer apply.
type Link struct {
	User     string `json:"user"`
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
	// Groups are the person's groups at the last sign-in or refresh.
	Groups []string `json:"groups,omitempty"`
	// Grants are the role bindings GroupBindings granted.
	Grants   []Grant   `json:"grants,omitempty"`
	SyncedAt time.Time `json:"syncedAt"`
	// DisabledByProvider says the user is disabled because the provider
	// reported it so (and is enabled again when the provider does).
	DisabledByProvider bool `json:"disabledByProvider,omitempty"`

	ResourceVersion int64 `json:"resourceVersion"`
}

// Grant is one role binding a GroupBinding granted.
type Grant struct {
	Role    tenancy.Role  `json:"role"`
	Scope   tenancy.Scope `json:"scope"`
	Binding string        `json:"binding"`
}

// Store is what sso needs from persistence, bound to one transaction, with
// the conventions of tenancy.Store. It provisions users and grants role
// bindings through identity and tenancy, so it is their stores too.
type Store interface {
	identity.Store
	tenancy.Store

	CreateGroupBinding(ctx context.Context, b GroupBinding) error
	GetGroupBinding(ctx context.Context, name string) (GroupBinding, error)
	UpdateGroupBinding(ctx context.Context, b GroupBinding, prevRV int64) error
	DeleteGroupBinding(ctx context.Context, name string, prevRV int64) error
	// ListGroupBindings lists bindings by name after after, at most limit.
	ListGroupBindings(ctx context.Context, after string, limit int) ([]GroupBinding, error)
	// GroupBindingsOf returns every binding of provider.
	GroupBindingsOf(ctx context.Context, provider string) ([]GroupBinding, error)

	// PutLink creates (prevRV 0) or replaces the link of l.User.
	PutLink(ctx context.Context, l Link, prevRV int64) error
	GetLink(ctx context.Context, user string) (Link, error)
	// ListLinks lists links by user after after, at most limit.
	ListLinks(ctx context.Context, after string, limit int) ([]Link, error)

	FlowStore
}

// PasswordDirectory authenticates a user name and password against a
// directory (LDAP, Active Directory).
type PasswordDirectory interface {
	// Name is the directory's name in configuration, bindings and audit.
	Name() string
	// Authenticate returns the person, or resource.ErrUnauthenticated for
	// an unknown user or a wrong or empty password, or an error wrapping
	// ErrUnavailable when the directory cannot be asked. A disabled
	// account is an Identity with Disabled set, returned without binding
	// as the user.
	Authenticate(ctx context.Context, username, password string) (Identity, error)
	// Lookup reads the person again with the directory's service account,
	// for a refresh: resource.ErrNotFound when the entry is gone.
	Lookup(ctx context.Context, username string) (Identity, error)
}
