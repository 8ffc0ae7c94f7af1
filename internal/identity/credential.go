package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/resource"
)

// Login authenticates username and password and opens a console session.
// It returns the session and its secret (for the cookie; only its hash is
// stored) and records "user.login". Bad credentials are
// resource.ErrUnauthenticated with nothing written: the caller audits the
// failure after rolling back (platform.Platform.Do).
func (s *Service) Login(ctx context.Context, st Store, a audit.Actor, username, password string) (Session, string, error) {
	u, err := s.Authenticate(ctx, st, username, password)
	if err != nil {
		return Session{}, "", err
	}
	return s.OpenSession(ctx, st, a, u.Name)
}

// OpenSession opens a console session for user, who authenticated in an
// earlier transaction (so the password hash was not computed under this
// one's write lock), and records "user.login". A user disabled or deleted
// since is resource.ErrUnauthenticated.
func (s *Service) OpenSession(ctx context.Context, st Store, a audit.Actor, user string) (Session, string, error) {
	u, err := s.activeUser(ctx, st, user)
	if err != nil {
		return Session{}, "", err
	}
	id, err := newID()
	if err != nil {
		return Session{}, "", err
	}
	secret, err := newSecret(SessionPrefix)
	if err != nil {
		return Session{}, "", err
	}
	now := s.now()
	sess := Session{ID: id, User: u.Name, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	if err := st.CreateSession(ctx, SessionRecord{Session: sess, SecretHash: HashSecret(secret)}); err != nil {
		return Session{}, "", fmt.Errorf("create session for %s: %w", u.Name, err)
	}
	a.User = u.Name
	return sess, secret, s.record(ctx, st, a, audit.Event{Action: "user.login", Target: "users/" + u.Name,
		Summary: fmt.Sprintf("%s logged in, session %s until %s", u.Name, id, sess.ExpiresAt.Format(time.RFC3339))})
}

// AuthenticateSession returns the user and session of a session secret, or
// resource.ErrUnauthenticated when it is unknown, expired or its user is
// disabled or gone.
func (s *Service) AuthenticateSession(ctx context.Context, st Store, secret string) (User, Session, error) {
	if !strings.HasPrefix(secret, SessionPrefix) || len(secret) > 128 {
		return User{}, Session{}, resource.ErrUnauthenticated
	}
	rec, err := st.GetSessionBySecretHash(ctx, HashSecret(secret))
	if err != nil {
		return User{}, Session{}, unauthenticated(err)
	}
	if !s.now().Before(rec.ExpiresAt) {
		return User{}, Session{}, resource.ErrUnauthenticated
	}
	u, err := s.activeUser(ctx, st, rec.User)
	return u, rec.Session, err
}

// Logout ends the session of secret and records "user.logout".
func (s *Service) Logout(ctx context.Context, st Store, a audit.Actor, secret string) error {
	rec, err := st.GetSessionBySecretHash(ctx, HashSecret(secret))
	if err != nil {
		return unauthenticated(err)
	}
	if err := st.DeleteSession(ctx, rec.User, rec.ID); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return s.record(ctx, st, a, audit.Event{Action: "user.logout", Target: "users/" + rec.User,
		Summary: fmt.Sprintf("%s logged out, session %s", rec.User, rec.ID)})
}

// TokenSpec describes an API token to issue.
type TokenSpec struct {
	Name string
	// TTL is the token's lifetime; 0 takes the default.
	TTL time.Duration
	// Role restricts the token to one of authz.TokenRoles; empty: the
	// token acts with its user's bindings.
	Role authz.Role
	// NotAfter, when set, is the latest expiry allowed: the expiry of the
	// token the new one is minted with, so no token outlives its maker. A
	// default lifetime is cut to it; an explicit longer TTL is a field
	// error at "ttl".
	NotAfter time.Time
}

// CreateToken issues an API token named name for user, valid for ttl (0:
// the default): IssueToken with nothing more in its spec.
func (s *Service) CreateToken(ctx context.Context, st Store, a audit.Actor, user, name string, ttl time.Duration) (Token, string, error) {
	return s.IssueToken(ctx, st, a, user, TokenSpec{Name: name, TTL: ttl})
}

// IssueToken issues an API token for user (longer than the maximum
// lifetime, or than spec.NotAfter, is a field error at "ttl"). It returns
// the token and its secret, which is not stored and cannot be shown again.
// Whether the caller may issue it, and with spec.Role, is the caller's
// decision.
func (s *Service) IssueToken(ctx context.Context, st Store, a audit.Actor, user string, spec TokenSpec) (Token, string, error) {
	now := s.now()
	expires, err := s.tokenExpiry(spec, now)
	if err != nil {
		return Token{}, "", err
	}
	if _, err := s.activeUser(ctx, st, user); err != nil {
		return Token{}, "", fmt.Errorf("create token for %s: %w", user, err)
	}
	id, err := newID()
	if err != nil {
		return Token{}, "", err
	}
	secret, err := newSecret(TokenPrefix)
	if err != nil {
		return Token{}, "", err
	}
	t := Token{ID: id, User: user, Name: spec.Name, CreatedAt: now, ExpiresAt: expires, Role: spec.Role}
	if err := st.CreateToken(ctx, TokenRecord{Token: t, SecretHash: HashSecret(secret)}); err != nil {
		return Token{}, "", fmt.Errorf("create token for %s: %w", user, err)
	}
	summary := fmt.Sprintf("created token %s (%s) for %s, expires %s", id, spec.Name, user, expires.Format(time.RFC3339))
	if spec.Role != "" {
		summary += ", carrying only the role " + string(spec.Role)
	}
	return t, secret, s.record(ctx, st, a, audit.Event{Action: "token.create", Target: "users/" + user + "/tokens/" + id, Summary: summary})
}

// tokenExpiry checks spec and returns the new token's expiry.
func (s *Service) tokenExpiry(spec TokenSpec, now time.Time) (time.Time, error) {
	var errs resource.Errors
	errs.CheckName("name", spec.Name)
	if spec.Role != "" && !slices.Contains(authz.TokenRoles(), spec.Role) {
		errs.Add("role", "must be empty or one of %v, got %q", authz.TokenRoles(), spec.Role)
	}
	ttl := spec.TTL
	if ttl == 0 {
		ttl = s.opts.TokenTTL
	}
	if ttl < 0 || ttl > s.opts.MaxTokenTTL {
		errs.Add("ttl", "must be between 0 and %s, got %s", s.opts.MaxTokenTTL, ttl)
	}
	expires := now.Add(ttl)
	if !spec.NotAfter.IsZero() && expires.After(spec.NotAfter) {
		if spec.TTL != 0 {
			errs.Add("ttl", "must not outlive the token it is created with, which expires %s", spec.NotAfter.Format(time.RFC3339))
		}
		expires = spec.NotAfter
	}
	return expires, errs.Err()
}

// RevokeToken revokes a token of user; revoking twice is a no-op.
func (s *Service) RevokeToken(ctx context.Context, st Store, a audit.Actor, user, id string) error {
	t, err := st.GetToken(ctx, user, id)
	if err != nil {
		return fmt.Errorf("revoke token %s of %s: %w", id, user, err)
	}
	if !t.RevokedAt.IsZero() {
		return nil
	}
	if err := st.RevokeToken(ctx, user, id, s.now()); err != nil {
		return fmt.Errorf("revoke token %s of %s: %w", id, user, err)
	}
	return s.record(ctx, st, a, audit.Event{Action: "token.revoke", Target: "users/" + user + "/tokens/" + id,
		Summary: fmt.Sprintf("revoked token %s (%s) of %s", id, t.Name, user)})
}

// ListTokens returns a page of a user's tokens by ID (never their secrets).
func (s *Service) ListTokens(ctx context.Context, st Store, user string, o resource.ListOptions) (resource.Page[Token], error) {
	after, err := o.After()
	if err != nil {
		return resource.Page[Token]{}, err
	}
	limit := o.PageLimit()
	recs, err := st.ListTokens(ctx, user, after, limit+1)
	if err != nil {
		return resource.Page[Token]{}, fmt.Errorf("list tokens of %s: %w", user, err)
	}
	ts := make([]Token, len(recs))
	for i, r := range recs {
		ts[i] = r.Token
	}
	return resource.NewPage(ts, limit, func(t Token) string { return t.ID }), nil
}

// AuthenticateToken returns the user and token of a token secret, or
// resource.ErrUnauthenticated when it is unknown, expired, revoked or its
// user is disabled or gone.
func (s *Service) AuthenticateToken(ctx context.Context, st Store, secret string) (User, Token, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 128 {
		return User{}, Token{}, resource.ErrUnauthenticated
	}
	rec, err := st.GetTokenBySecretHash(ctx, HashSecret(secret))
	if err != nil {
		return User{}, Token{}, unauthenticated(err)
	}
	if !rec.RevokedAt.IsZero() || !s.now().Before(rec.ExpiresAt) {
		return User{}, Token{}, resource.ErrUnauthenticated
	}
	u, err := s.activeUser(ctx, st, rec.User)
	return u, rec.Token, err
}

func (s *Service) activeUser(ctx context.Context, st Store, name string) (User, error) {
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return User{}, unauthenticated(err)
	}
	if u.Disabled {
		return User{}, resource.ErrUnauthenticated
	}
	return u.User, nil
}

// unauthenticated turns "not found" into ErrUnauthenticated and passes
// other errors on.
func unauthenticated(err error) error {
	if errors.Is(err, resource.ErrNotFound) {
		return resource.ErrUnauthenticated
	}
	return err
}

// PruneSessions deletes expired sessions and returns how many; run it
// periodically. It writes no audit record: expiry is not a change anyone
// made.
func (s *Service) PruneSessions(ctx context.Context, st Store) (int64, error) {
	n, err := st.DeleteExpiredSessions(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	return n, nil
}
