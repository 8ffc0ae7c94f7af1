// Package ldap is the LDAP and Active Directory client of single sign-on:
// a [Directory] searches a person with a service account, binds as the
// person to check the password, and reads the person's groups (memberOf,
// a group search, nested groups by AD's matching rule in chain or by a
// bounded search level by level), over LDAPS or StartTLS with a
// configured CA, with timeouts and a small cache of groups.
//
// It implements sso.PasswordDirectory; what the groups grant is package
// sso's business.
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
)

// maxConns bounds the connections one directory has open at once.
const maxConns = 16

// Directory is one configured LDAP or AD directory. It is safe for
// concurrent use.
type Directory struct {
	cfg          sso.DirectoryConfig
	bindPassword string
	tls          *tls.Config
	timeout      time.Duration
	cache        *groupCache
	conns        chan struct{}
}

var _ sso.PasswordDirectory = (*Directory)(nil)

// New returns the directory of cfg, a validated configuration with its
// defaults; it reads the service account's password and the CA bundle now.
func New(cfg sso.DirectoryConfig, c clock.Clock) (*Directory, error) {
	pw, err := os.ReadFile(cfg.BindPasswordFile)
	if err != nil {
		return nil, fmt.Errorf("directory %s: read bindPasswordFile: %w", cfg.Name, err)
	}
	tc, err := tlsConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", cfg.Name, err)
	}
	timeout, ttl := cfg.Durations()
	return &Directory{cfg: cfg, bindPassword: strings.TrimRight(string(pw), "\r\n"), tls: tc, timeout: timeout,
		cache: newGroupCache(c, ttl), conns: make(chan struct{}, maxConns)}, nil
}

func tlsConfig(cfg sso.DirectoryConfig) (*tls.Config, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
	if cfg.CAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read caFile: %w", err)
	}
	tc.RootCAs = x509.NewCertPool()
	if !tc.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("caFile %s holds no PEM certificate", cfg.CAFile)
	}
	return tc, nil
}

// Name returns the directory's configured name.
func (d *Directory) Name() string { return d.cfg.Name }

// Authenticate checks username and password: an empty password is refused
// before anything is sent (a simple bind with an empty password is an
// anonymous bind, which many servers answer with success). It finds the
// user with the service account, binds as the user, then reads the
// groups with the service account again.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (sso.Identity, error) {
	if password == "" || username == "" {
		return sso.Identity{}, resource.ErrUnauthenticated
	}
	var id sso.Identity
	err := d.withConn(ctx, func(c *goldap.Conn) error {
		e, err := d.findUser(c, username)
		if err != nil {
			return err
		}
		if id, err = d.identity(c, e); err != nil || id.Disabled {
			return err
		}
		if err := c.Bind(e.DN, password); err != nil {
			return userBindError(err)
		}
		if err := d.serviceBind(c); err != nil {
			return err
		}
		id.Groups, err = d.groups(c, e, username)
		return err
	})
	return id, err
}

// Lookup reads the person with the service account alone (no password):
// resource.ErrNotFound when no entry matches.
func (d *Directory) Lookup(ctx context.Context, username string) (sso.Identity, error) {
	var id sso.Identity
	err := d.withConn(ctx, func(c *goldap.Conn) error {
		e, err := d.findUser(c, username)
		if errors.Is(err, resource.ErrUnauthenticated) {
			return resource.ErrNotFound
		}
		if err != nil {
			return err
		}
		if id, err = d.identity(c, e); err != nil || id.Disabled {
			return err
		}
		id.Groups, err = d.groups(c, e, username)
		return err
	})
	return id, err
}

// withConn connects (at most maxConns at once), binds as the service
// account and runs fn; the connection closes when fn returns or ctx ends.
func (d *Directory) withConn(ctx context.Context, fn func(*goldap.Conn) error) error {
	select {
	case d.conns <- struct{}{}:
		defer func() { <-d.conns }()
	case <-ctx.Done():
		return ctx.Err()
	}
	c, err := d.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := d.serviceBind(c); err != nil {
		return err
	}
	return fn(c)
}

func (d *Directory) dial() (*goldap.Conn, error) {
	dialer := &net.Dialer{Timeout: d.timeout}
	c, err := goldap.DialURL(d.cfg.URL, goldap.DialWithDialer(dialer), goldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return nil, d.unavailable("connect", err)
	}
	c.SetTimeout(d.timeout)
	if d.cfg.StartTLS {
		if err := c.StartTLS(d.tls); err != nil {
			c.Close()
			return nil, d.unavailable("StartTLS", err)
		}
	}
	return c, nil
}

func (d *Directory) serviceBind(c *goldap.Conn) error {
	if err := c.Bind(d.cfg.BindDN, d.bindPassword); err != nil {
		return d.unavailable("bind as the service account", err)
	}
	return nil
}

func (d *Directory) unavailable(what string, err error) error {
	return fmt.Errorf("directory %s: %s: %w: %w", d.cfg.Name, what, sso.ErrUnavailable, err)
}

// userBindError: a refused bind as the user is a wrong password (or a
// locked, expired or disabled account); a broken connection is not.
func userBindError(err error) error {
	var le *goldap.Error
	if errors.As(err, &le) && le.ResultCode >= goldap.ErrorNetwork {
		return fmt.Errorf("bind as the user: %w: %w", sso.ErrUnavailable, err)
	}
	return resource.ErrUnauthenticated
}

// Filter replaces each {key} of filter with the escaped value of vars:
// values from users never change a filter's structure.
func Filter(filter string, vars map[string]string) string {
	for k, v := range vars {
		filter = strings.ReplaceAll(filter, "{"+k+"}", goldap.EscapeFilter(v))
	}
	return filter
}

// findUser returns the one entry the user filter matches for username:
// none, or more than one, is resource.ErrUnauthenticated.
func (d *Directory) findUser(c *goldap.Conn, username string) (*goldap.Entry, error) {
	attrs := []string{d.cfg.UsernameAttribute, d.cfg.DisplayNameAttribute, d.cfg.EmailAttribute}
	if d.cfg.Groups.Mode == sso.GroupsMemberOf {
		attrs = append(attrs, d.cfg.Groups.MemberOfAttribute)
	}
	req := goldap.NewSearchRequest(d.cfg.UserBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, d.seconds(), false,
		Filter(d.cfg.UserFilter, map[string]string{"username": username}), attrs, nil)
	res, err := c.Search(req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("directory %s: the user filter matches several entries for %q: %w", d.cfg.Name, username, resource.ErrUnauthenticated)
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		return nil, resource.ErrUnauthenticated
	case err != nil:
		return nil, d.unavailable("search the user", err)
	case len(res.Entries) != 1:
		return nil, resource.ErrUnauthenticated
	}
	return res.Entries[0], nil
}

func (d *Directory) seconds() int {
	return max(1, int(d.timeout/time.Second))
}

// identity reads the person's names from the entry and whether the
// directory disables the account.
func (d *Directory) identity(c *goldap.Conn, e *goldap.Entry) (sso.Identity, error) {
	id := sso.Identity{Provider: d.cfg.Name, Subject: e.DN, Username: e.GetAttributeValue(d.cfg.UsernameAttribute),
		DisplayName: e.GetAttributeValue(d.cfg.DisplayNameAttribute), Email: e.GetAttributeValue(d.cfg.EmailAttribute)}
	if d.cfg.DisabledFilter == "" {
		return id, nil
	}
	req := goldap.NewSearchRequest(e.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, d.seconds(), false,
		d.cfg.DisabledFilter, []string{"1.1"}, nil)
	res, err := c.Search(req)
	if err != nil {
		return id, d.unavailable("check whether the account is disabled", err)
	}
	id.Disabled = len(res.Entries) > 0
	return id, nil
}
