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
		h, err := HashPassword(password, s.opts.Argon2)
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

// SetPassword replaces a user's password and ends the user's console
// sessions (API tokens stay valid until revoked).
func (s *Service) SetPassword(ctx context.Context, st Store, a audit.Actor, name, password string) error {
	var errs resource.Errors
	checkPassword(&errs, password)
	if err := errs.Err(); err != nil {
		return err
	}
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", name, err)
	}
	if u.PasswordHash, err = HashPassword(password, s.opts.Argon2); err != nil {
		return fmt.Errorf("set password of %s: %w", name, err)
	}
	prev := u.ResourceVersion
	u.ResourceVersion, u.UpdatedAt = prev+1, s.now()
	if err := st.UpdateUser(ctx, u, prev); err != nil {
		return fmt.Errorf("set password of %s: %w", name, err)
	}
	n, err := st.DeleteUserSessions(ctx, name)
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", name, err)
	}
	return s.record(ctx, st, a, audit.Event{Action: "user.set-password", Target: "users/" + name,
		Summary: fmt.Sprintf("changed the password of %s and ended its %d console sessions", name, n)})
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
