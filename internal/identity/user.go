package identity

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

func validateUser(u User) error {
	var errs resource.Errors
	errs.CheckUserName("name", u.Name)
	errs.CheckLen("displayName", u.DisplayName, 200)
	if !strings253(u.Email) {
		errs.Add("email", "must be at most 253 characters on one line")
	}
	return errs.Err()
}

func checkPassword(errs *resource.Errors, password string) {
	switch {
	case len(password) < MinPasswordLen:
		errs.Add("password", "must be at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		errs.Add("password", "must be at most %d characters", MaxPasswordLen)
	}
}

// CreateUser creates a local user with password (stored as an argon2id
// hash; empty for a user who authenticates through another provider).
func (s *Service) CreateUser(ctx context.Context, st Store, a audit.Actor, u User, password string) (User, error) {
	if err := validateUser(u); err != nil {
		return User{}, err
	}
	rec := UserRecord{User: u}
	if password != "" {
		var errs resource.Errors
		checkPassword(&errs, password)
		if err := errs.Err(); err != nil {
			return User{}, err
		}
		h, err := s.hasher.Hash(ctx, password)
		if err != nil {
			return User{}, fmt.Errorf("create user %s: %w", u.Name, err)
		}
		rec.PasswordHash = h
	}
	now := s.now()
	rec.ResourceVersion, rec.CreatedAt, rec.UpdatedAt = 1, now, now
	if err := st.CreateUser(ctx, rec); err != nil {
		return User{}, fmt.Errorf("create user %s: %w", u.Name, err)
	}
	return rec.User, s.record(ctx, st, a, audit.Event{Action: "user.create", Target: "users/" + u.Name,
		Summary: "created user " + u.Name})
}

// UpdateUser replaces DisplayName, Email and Disabled; u.ResourceVersion
// must be the version read. Disabling a user makes its tokens and sessions
// stop authenticating.
func (s *Service) UpdateUser(ctx context.Context, st Store, a audit.Actor, u User) (User, error) {
	if err := validateUser(u); err != nil {
		return User{}, err
	}
	if u.ResourceVersion <= 0 {
		return User{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "resourceVersion",
			Reason: fmt.Sprintf("must be the resourceVersion that was read (a positive number), got %d", u.ResourceVersion)}}}
	}
	old, err := st.GetUser(ctx, u.Name)
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", u.Name, err)
	}
	prev := u.ResourceVersion
	u.CreatedAt, u.UpdatedAt, u.ResourceVersion = old.CreatedAt, s.now(), old.ResourceVersion+1
	if err := st.UpdateUser(ctx, UserRecord{User: u, PasswordHash: old.PasswordHash}, prev); err != nil {
		return User{}, fmt.Errorf("update user %s: %w", u.Name, err)
	}
	summary := "updated user " + u.Name
	if u.Disabled != old.Disabled {
		summary += fmt.Sprintf(" (disabled: %t)", u.Disabled)
	}
	return u, s.record(ctx, st, a, audit.Event{Action: "user.update", Target: "users/" + u.Name, Summary: summary})
}

// Keep names the credential a password change leaves valid: the one users
// changed their own password with, having proved the current one. The zero
// Keep keeps nothing.
type Keep struct {
	// SessionSecret is the caller's console session secret.
	SessionSecret string
	// TokenID is the ID of the caller's API token.
	TokenID string
}

// ErrWrongCurrentPassword is the field error of a password change whose
// current password is wrong.
var ErrWrongCurrentPassword = &resource.ValidationError{Fields: []resource.FieldError{{Path: "currentPassword",
	Reason: "is not the current password"}}}

// SetPassword is an administrator's reset of another user's password: it
// replaces the password, ends every console session of the user and
// revokes every API token, so whoever held the old credentials is out.
func (s *Service) SetPassword(ctx context.Context, st Store, a audit.Actor, name, password string) error {
	var errs resource.Errors
	checkPassword(&errs, password)
	if err := errs.Err(); err != nil {
		return err
	}
	return s.replacePassword(ctx, st, a, name, password, Keep{})
}

// ChangePassword is users changing their own password: current must be the
// present one (else ErrWrongCurrentPassword). Like SetPassword it ends the
// user's sessions and revokes the user's tokens, except the credential in
// keep, the one the change was made with.
func (s *Service) ChangePassword(ctx context.Context, st Store, a audit.Actor, name, current, password string, keep Keep) error {
	var errs resource.Errors
	checkPassword(&errs, password)
	if current == "" {
		errs.Add("currentPassword", "must be given to change one's own password")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return fmt.Errorf("change password of %s: %w", name, err)
	}
	if u.PasswordHash == "" || len(current) > MaxPasswordLen {
		return ErrWrongCurrentPassword
	}
	ok, err := s.hasher.Check(ctx, u.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("change password of %s: %w", name, err)
	}
	if !ok {
		return ErrWrongCurrentPassword
	}
	return s.replacePassword(ctx, st, a, name, password, keep)
}

func (s *Service) replacePassword(ctx context.Context, st Store, a audit.Actor, name, password string, keep Keep) error {
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", name, err)
	}
	if u.PasswordHash, err = s.hasher.Hash(ctx, password); err != nil {
		return fmt.Errorf("set password of %s: %w", name, err)
	}
	prev := u.ResourceVersion
	u.ResourceVersion, u.UpdatedAt = prev+1, s.now()
	if err := st.UpdateUser(ctx, u, prev); err != nil {
		return fmt.Errorf("set password of %s: %w", name, err)
	}
	sessions, err := s.endSessions(ctx, st, name, keep.SessionSecret)
	if err != nil {
		return err
	}
	tokens, err := s.revokeTokens(ctx, st, name, keep.TokenID)
	if err != nil {
		return err
	}
	summary := fmt.Sprintf("changed the password of %s, ended %d console sessions and revoked %d API tokens", name, sessions, tokens)
	if keep != (Keep{}) {
		summary += "; the credential used for the change stays valid"
	}
	return s.record(ctx, st, a, audit.Event{Action: "user.set-password", Target: "users/" + name, Summary: summary})
}

// endSessions deletes every session of user but the one of keepSecret
// (when it is the user's), and returns how many ended.
func (s *Service) endSessions(ctx context.Context, st Store, user, keepSecret string) (int64, error) {
	var kept *SessionRecord
	if keepSecret != "" {
		rec, err := st.GetSessionBySecretHash(ctx, HashSecret(keepSecret))
		if err == nil && rec.User == user {
			rec.SecretHash = HashSecret(keepSecret) // the store may not return it
			kept = &rec
		}
	}
	n, err := st.DeleteUserSessions(ctx, user)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", user, err)
	}
	if kept == nil {
		return n, nil
	}
	if err := st.CreateSession(ctx, *kept); err != nil {
		return 0, fmt.Errorf("keep the session of %s: %w", user, err)
	}
	return n - 1, nil
}

// revokeTokens revokes every live token of user but keepID and returns
// how many it revoked.
func (s *Service) revokeTokens(ctx context.Context, st Store, user, keepID string) (int, error) {
	n, after, now := 0, "", s.now()
	for {
		recs, err := st.ListTokens(ctx, user, after, 500)
		if err != nil {
			return 0, fmt.Errorf("list tokens of %s: %w", user, err)
		}
		for _, t := range recs {
			if t.ID == keepID || !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) {
				continue
			}
			if err := st.RevokeToken(ctx, user, t.ID, now); err != nil {
				return 0, fmt.Errorf("revoke token %s of %s: %w", t.ID, user, err)
			}
			n++
		}
		if len(recs) < 500 {
			return n, nil
		}
		after = recs[len(recs)-1].ID
	}
}

// DeleteUser deletes a user with its tokens and sessions. rv 0 skips the
// version check. Role bindings are tenancy's; the caller removes them.
func (s *Service) DeleteUser(ctx context.Context, st Store, a audit.Actor, name string, rv int64) error {
	if err := st.DeleteUser(ctx, name, rv); err != nil {
		return fmt.Errorf("delete user %s: %w", name, err)
	}
	return s.record(ctx, st, a, audit.Event{Action: "user.delete", Target: "users/" + name, Summary: "deleted user " + name})
}

// GetUser returns the named user.
func (s *Service) GetUser(ctx context.Context, st Store, name string) (User, error) {
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", name, err)
	}
	return u.User, nil
}

// ListUsers returns a page of users by name.
func (s *Service) ListUsers(ctx context.Context, st Store, o resource.ListOptions) (resource.Page[User], error) {
	after, err := o.After()
	if err != nil {
		return resource.Page[User]{}, err
	}
	limit := o.PageLimit()
	recs, err := st.ListUsers(ctx, after, limit+1)
	if err != nil {
		return resource.Page[User]{}, fmt.Errorf("list users: %w", err)
	}
	users := make([]User, len(recs))
	for i, r := range recs {
		users[i] = r.User
	}
	return resource.NewPage(users, limit, func(u User) string { return u.Name }), nil
}

// AdminUser is the user EnsureAdmin creates.
const AdminUser = "admin"

// EnsureAdmin creates the user "admin" when there are no users at all. It
// uses password when not empty, else generates one and returns it (to be
// shown once); created says whether anything was done.
func (s *Service) EnsureAdmin(ctx context.Context, st Store, password string) (generated string, created bool, err error) {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", false, wrapErr("count users", err)
	}
	if password == "" {
		if generated, err = newSecret(""); err != nil {
			return "", false, err
		}
		password = generated
	}
	if _, err := s.CreateUser(ctx, st, audit.System, User{Name: AdminUser, DisplayName: "Administrator"}, password); err != nil {
		return "", false, err
	}
	return generated, true, nil
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
