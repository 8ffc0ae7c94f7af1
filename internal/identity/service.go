package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
)

// Options tune a Service; zero fields take the defaults.
type Options struct {
	Argon2      Argon2Params  // DefaultArgon2
	TokenTTL    time.Duration // default lifetime of an API token: 90 days
	MaxTokenTTL time.Duration // longest allowed: 365 days
	SessionTTL  time.Duration // console session lifetime: 12 hours
	// MaxHashing bounds the password hashes computed at once (GOMAXPROCS).
	MaxHashing int
}

func (o Options) withDefaults() Options {
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = DefaultArgon2
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = 90 * 24 * time.Hour
	}
	if o.MaxTokenTTL == 0 {
		o.MaxTokenTTL = 365 * 24 * time.Hour
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 12 * time.Hour
	}
	return o
}

// Service manages users, tokens and sessions. It is safe for concurrent use.
type Service struct {
	clock     clock.Clock
	opts      Options
	hasher    *Hasher
	providers []Provider
}

// NewService returns a Service that authenticates passwords with providers
// in order (the local provider when none are given); it keeps providers.
func NewService(c clock.Clock, opts Options, providers ...Provider) *Service {
	s := &Service{clock: c, opts: opts.withDefaults(), providers: providers}
	s.hasher = NewHasher(s.opts.Argon2, s.opts.MaxHashing)
	if len(providers) == 0 {
		s.providers = []Provider{NewLocal(s.hasher)}
	}
	return s
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, st audit.Writer, a audit.Actor, e audit.Event) error {
	_, err := audit.Append(ctx, st, s.now(), a, e)
	return err
}

// Secret prefixes let scanners and people recognise leaked credentials.
const (
	TokenPrefix   = "berth_t_"
	SessionPrefix = "berth_s_"
)

func newSecret(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func newID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// HashSecret is how token and session secrets are stored: hex SHA-256.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Hasher returns the service's password hasher, which bounds how many
// hashes run at once; providers checking hashes should share it.
func (s *Service) Hasher() *Hasher { return s.hasher }

// Local authenticates against the argon2id hashes in the store.
type Local struct {
	hasher *Hasher
	// dummyHash is checked when the user does not exist or cannot log in,
	// so a wrong user name costs as much time as a wrong password.
	dummyHash string
}

// NewLocal returns the local provider checking passwords through h, whose
// parameters should be the cost new hashes use.
func NewLocal(h *Hasher) *Local {
	d, _ := HashPassword("berth-dummy-password", h.params) // fails only without randomness; then the timing shield is weaker
	return &Local{hasher: h, dummyHash: d}
}

// Name returns "local".
func (*Local) Name() string { return "local" }

// Authenticate checks username and password against the stored hash.
func (l *Local) Authenticate(ctx context.Context, st Store, username, password string) (User, error) {
	u, err := st.GetUser(ctx, username)
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	if err != nil || u.PasswordHash == "" || u.Disabled {
		if _, err := l.hasher.Check(ctx, l.dummyHash, password); errors.Is(err, ErrBusy) {
			return User{}, err
		}
		return User{}, resource.ErrUnauthenticated
	}
	ok, err := l.hasher.Check(ctx, u.PasswordHash, password)
	if errors.Is(err, ErrBusy) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("check password of %s: %w", username, err)
	}
	if !ok {
		return User{}, resource.ErrUnauthenticated
	}
	return u.User, nil
}

// Authenticate checks username and password with each provider in turn and
// returns the user of the first that accepts, or
// resource.ErrUnauthenticated. It writes nothing.
func (s *Service) Authenticate(ctx context.Context, st Store, username, password string) (User, error) {
	if CheckCredentials(username, password) != nil {
		return User{}, resource.ErrUnauthenticated
	}
	for _, p := range s.providers {
		u, err := p.Authenticate(ctx, st, username, password)
		if errors.Is(err, resource.ErrUnauthenticated) {
			continue
		}
		if err != nil {
			return User{}, fmt.Errorf("authenticate with %s: %w", p.Name(), err)
		}
		if u.Disabled {
			return User{}, resource.ErrUnauthenticated
		}
		return u, nil
	}
	return User{}, resource.ErrUnauthenticated
}

// MaxPasswordLen bounds passwords (argon2 input) and MinPasswordLen is the
// shortest accepted for local users. MaxLoginNameLen bounds the user name
// a login may name, whatever the provider: it ends up in audit records.
const (
	MaxPasswordLen  = 1024
	MinPasswordLen  = 12
	MaxLoginNameLen = 128
)

// CheckCredentials checks the shape of a login's user name and password
// before anything is hashed or written: a field error at "username"
// (empty, longer than MaxLoginNameLen bytes, not UTF-8 or with control
// characters) or "password" (longer than MaxPasswordLen bytes).
func CheckCredentials(username, password string) error {
	var errs resource.Errors
	switch {
	case username == "":
		errs.Add("username", "must not be empty")
	case len(username) > MaxLoginNameLen:
		errs.Add("username", "must be at most %d bytes, got %d", MaxLoginNameLen, len(username))
	case !utf8.ValidString(username) || strings.IndexFunc(username, unicode.IsControl) >= 0:
		errs.Add("username", "must be UTF-8 text without control characters")
	}
	if len(password) > MaxPasswordLen {
		errs.Add("password", "must be at most %d bytes, got %d", MaxPasswordLen, len(password))
	}
	return errs.Err()
}

func strings253(s string) bool { return len(s) <= 253 && !strings.ContainsAny(s, "\r\n") }

// SessionTTL is the lifetime of a console session.
func (s *Service) SessionTTL() time.Duration { return s.opts.SessionTTL }
