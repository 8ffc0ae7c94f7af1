package sso

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/resource"
)

// Config is the sign-on configuration of a server: the file named by the
// server's ssoConfig setting. Its order is the order directories are tried
// in when a login names none.
type Config struct {
	Directories []DirectoryConfig `json:"directories,omitempty"`
	OIDC        []OIDCConfig      `json:"oidc,omitempty"`
}

// DisplayName is a name per language tag ("zh-CN", "en").
type DisplayName map[string]string

// DirectoryConfig configures an LDAP or Active Directory directory.
type DirectoryConfig struct {
	Name        string      `json:"name"`
	DisplayName DisplayName `json:"displayName,omitempty"`
	// URL is ldap://host:389 or ldaps://host:636.
	URL string `json:"url"`
	// StartTLS upgrades an ldap:// connection before anything is sent.
	StartTLS bool `json:"startTLS,omitempty"`
	// CAFile is a PEM bundle of the CAs the directory's certificate is
	// checked against (empty: the system's).
	CAFile string `json:"caFile,omitempty"`
	// AllowPlaintext must be set to use ldap:// without StartTLS, which
	// sends passwords in the clear: for tests and loopback only.
	AllowPlaintext bool `json:"allowPlaintext,omitempty"`
	// BindDN and BindPasswordFile are the service account that searches.
	BindDN           string `json:"bindDN"`
	BindPasswordFile string `json:"bindPasswordFile"`
	// UserBaseDN is where users are searched; UserFilter finds one, with
	// {username} replaced by the escaped login name.
	UserBaseDN string `json:"userBaseDN"`
	UserFilter string `json:"userFilter"`
	// Attributes of the user entry (defaults: uid, cn, mail).
	UsernameAttribute    string `json:"usernameAttribute,omitempty"`
	DisplayNameAttribute string `json:"displayNameAttribute,omitempty"`
	EmailAttribute       string `json:"emailAttribute,omitempty"`
	// DisabledFilter, when the user entry matches it, marks the account
	// disabled (AD: "(userAccountControl:1.2.840.113556.1.4.803:=2)").
	DisabledFilter string       `json:"disabledFilter,omitempty"`
	Groups         GroupsConfig `json:"groups"`
	// Timeout bounds each connection and operation (default 10s).
	Timeout string `json:"timeout,omitempty"`
	// CacheTTL is how long a person's groups are reused (default 30s; 0s
	// turns the cache off). Passwords are never cached.
	CacheTTL string `json:"cacheTTL,omitempty"`
}

// Group membership modes and nesting strategies.
const (
	GroupsMemberOf = "memberOf"
	GroupsSearch   = "search"

	NestedNone    = "none"
	NestedInChain = "in-chain"
	NestedSearch  = "search"
)

// GroupsConfig says how a person's groups are found.
type GroupsConfig struct {
	// Mode is memberOf (read the user entry's memberOf attribute) or
	// search (search groups whose Filter matches).
	Mode string `json:"mode"`
	// MemberOfAttribute is read in memberOf mode (default memberOf).
	MemberOfAttribute string `json:"memberOfAttribute,omitempty"`
	// BaseDN and Filter find groups in search mode and for nesting;
	// {dn} is the escaped DN of the user (or of a group, when nesting),
	// {username} the escaped login name. Default filter: (member={dn}).
	BaseDN string `json:"baseDN,omitempty"`
	Filter string `json:"filter,omitempty"`
	// Nested is none, in-chain (AD's LDAP_MATCHING_RULE_IN_CHAIN: one
	// query the server expands) or search (groups of groups, level by
	// level, bounded by MaxDepth and MaxGroups).
	Nested    string `json:"nested,omitempty"`
	MaxDepth  int    `json:"maxDepth,omitempty"`
	MaxGroups int    `json:"maxGroups,omitempty"`
}

// OIDCConfig configures an OpenID Connect provider for the console's
// authorization code flow with PKCE.
type OIDCConfig struct {
	Name        string      `json:"name"`
	DisplayName DisplayName `json:"displayName,omitempty"`
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer/.well-known/openid-configuration.
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientID"`
	// ClientSecretFile holds the client secret (empty: a public client,
	// PKCE alone).
	ClientSecretFile string `json:"clientSecretFile,omitempty"`
	// Audience the ID token must carry (default ClientID).
	Audience string `json:"audience,omitempty"`
	// RedirectURL is Berth's callback as registered with the provider:
	// https://berth.example/api/v1/sso/NAME/callback.
	RedirectURL string `json:"redirectURL"`
	// Scopes asked for (default openid, profile, email, groups).
	Scopes []string `json:"scopes,omitempty"`
	// UsernameClaim names the Berth user (default preferred_username);
	// GroupsClaim lists the groups (default groups).
	UsernameClaim string `json:"usernameClaim,omitempty"`
	GroupsClaim   string `json:"groupsClaim,omitempty"`
	// GroupsOverage is what to do when the ID token leaves the groups out
	// because there are too many (Entra ID's "overage": the groups claim
	// replaced by a pointer in _claim_names, or hasgroups): "refuse" the
	// sign-in (default: signing in with no groups would silently revoke
	// what the groups grant), or read the groups claim from the provider's
	// "userinfo" endpoint.
	GroupsOverage string `json:"groupsOverage,omitempty"`
	// CAFile is a PEM bundle of the CAs of the provider (empty: the system's).
	CAFile string `json:"caFile,omitempty"`
}

// Defaults of a directory.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultCacheTTL  = 30 * time.Second
	DefaultMaxDepth  = 5
	DefaultMaxGroups = 500
	// MaxProviders bounds the directories and OIDC providers of a server.
	MaxProviders = 32
)

// LoadConfig reads and checks the sign-on configuration at path: strict
// YAML (unknown fields are errors), then Validate.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read sso config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig decodes strict YAML and validates it.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return Config{}, fmt.Errorf("sso config: %w", err)
	}
	for i := range c.Directories {
		c.Directories[i] = c.Directories[i].WithDefaults()
	}
	for i := range c.OIDC {
		c.OIDC[i] = c.OIDC[i].WithDefaults()
	}
	return c, c.Validate()
}

// WithDefaults fills the fields left empty.
func (d DirectoryConfig) WithDefaults() DirectoryConfig {
	setDefault(&d.UsernameAttribute, "uid")
	setDefault(&d.DisplayNameAttribute, "cn")
	setDefault(&d.EmailAttribute, "mail")
	setDefault(&d.Timeout, DefaultTimeout.String())
	setDefault(&d.CacheTTL, DefaultCacheTTL.String())
	setDefault(&d.Groups.MemberOfAttribute, "memberOf")
	setDefault(&d.Groups.Filter, "(member={dn})")
	setDefault(&d.Groups.Nested, NestedNone)
	if d.Groups.MaxDepth == 0 {
		d.Groups.MaxDepth = DefaultMaxDepth
	}
	if d.Groups.MaxGroups == 0 {
		d.Groups.MaxGroups = DefaultMaxGroups
	}
	return d
}

// WithDefaults fills the fields left empty.
func (o OIDCConfig) WithDefaults() OIDCConfig {
	setDefault(&o.Audience, o.ClientID)
	setDefault(&o.UsernameClaim, "preferred_username")
	setDefault(&o.GroupsClaim, "groups")
	setDefault(&o.GroupsOverage, OverageRefuse)
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "profile", "email", "groups"}
	}
	return o
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// Durations returns the parsed Timeout and CacheTTL of a validated config.
func (d DirectoryConfig) Durations() (timeout, cacheTTL time.Duration) {
	timeout, _ = time.ParseDuration(d.Timeout)
	cacheTTL, _ = time.ParseDuration(d.CacheTTL)
	return timeout, cacheTTL
}

// Validate returns every invalid field at once, named by its path.
func (c Config) Validate() error {
	var errs resource.Errors
	if n := len(c.Directories) + len(c.OIDC); n > MaxProviders {
		errs.Add("directories", "at most %d directories and providers in all, got %d", MaxProviders, n)
	}
	seen := map[string]bool{}
	name := func(path, n string) {
		errs.CheckName(path, n)
		if seen[n] {
			errs.Add(path, "%q is the name of another directory or provider", n)
		}
		seen[n] = true
	}
	for i, d := range c.Directories {
		p := fmt.Sprintf("directories[%d]", i)
		name(p+".name", d.Name)
		d.validate(&errs, p)
	}
	for i, o := range c.OIDC {
		p := fmt.Sprintf("oidc[%d]", i)
		name(p+".name", o.Name)
		o.validate(&errs, p)
	}
	return errs.Err()
}

func (d DirectoryConfig) validate(errs *resource.Errors, p string) {
	u, err := url.Parse(d.URL)
	switch {
	case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "":
		errs.Add(p+".url", "want ldap://host:port or ldaps://host:port, got %q", d.URL)
	case u.Scheme == "ldaps" && d.StartTLS:
		errs.Add(p+".startTLS", "ldaps:// is TLS already; StartTLS is for ldap://")
	case u.Scheme == "ldap" && !d.StartTLS && !d.AllowPlaintext:
		errs.Add(p+".startTLS", "ldap:// without StartTLS sends passwords in the clear; set startTLS, use ldaps://, or set allowPlaintext for a loopback test")
	}
	required := map[string]string{"bindDN": d.BindDN, "bindPasswordFile": d.BindPasswordFile, "userBaseDN": d.UserBaseDN, "userFilter": d.UserFilter}
	for _, k := range []string{"bindDN", "bindPasswordFile", "userBaseDN", "userFilter"} {
		if required[k] == "" {
			errs.Add(p+"."+k, "must not be empty")
		}
	}
	if d.UserFilter != "" && !strings.Contains(d.UserFilter, "{username}") {
		errs.Add(p+".userFilter", "must contain {username}")
	}
	for _, k := range []struct{ path, v string }{{"timeout", d.Timeout}, {"cacheTTL", d.CacheTTL}} {
		if v, err := time.ParseDuration(k.v); err != nil || v < 0 || v > time.Hour {
			errs.Add(p+"."+k.path, "want a duration between 0s and 1h, got %q", k.v)
		}
	}
	d.Groups.validate(errs, p+".groups")
}

func (g GroupsConfig) validate(errs *resource.Errors, p string) {
	if g.Mode != GroupsMemberOf && g.Mode != GroupsSearch {
		errs.Add(p+".mode", "want memberOf or search, got %q", g.Mode)
	}
	if !slices.Contains([]string{NestedNone, NestedInChain, NestedSearch}, g.Nested) {
		errs.Add(p+".nested", "want none, in-chain or search, got %q", g.Nested)
	}
	if (g.Mode == GroupsSearch || g.Nested != NestedNone) && g.BaseDN == "" {
		errs.Add(p+".baseDN", "must be set to search groups")
	}
	if g.Mode == GroupsSearch && !strings.Contains(g.Filter, "{dn}") && !strings.Contains(g.Filter, "{username}") {
		errs.Add(p+".filter", "must contain {dn} or {username}")
	}
	if g.MaxDepth < 1 || g.MaxDepth > 20 {
		errs.Add(p+".maxDepth", "want 1 to 20, got %d", g.MaxDepth)
	}
	if g.MaxGroups < 1 || g.MaxGroups > 10000 {
		errs.Add(p+".maxGroups", "want 1 to 10000, got %d", g.MaxGroups)
	}
}

func (o OIDCConfig) validate(errs *resource.Errors, p string) {
	for _, k := range []struct{ path, v string }{{"issuer", o.Issuer}, {"redirectURL", o.RedirectURL}} {
		u, err := url.Parse(k.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs.Add(p+"."+k.path, "want an http(s) URL, got %q", k.v)
		}
	}
	if o.ClientID == "" {
		errs.Add(p+".clientID", "must not be empty")
	}
	if !slices.Contains(o.Scopes, "openid") {
		errs.Add(p+".scopes", "must include openid")
	}
	if o.GroupsOverage != OverageRefuse && o.GroupsOverage != OverageUserInfo {
		errs.Add(p+".groupsOverage", "want %s or %s, got %q", OverageRefuse, OverageUserInfo, o.GroupsOverage)
	}
}

// What an OIDC provider's sign-in does on a groups overage.
const (
	OverageRefuse   = "refuse"
	OverageUserInfo = "userinfo"
)
