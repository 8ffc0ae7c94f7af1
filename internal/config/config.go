// Package config loads the typed configuration of the berth server.
//
// Values are layered: defaults < YAML file (strict: unknown fields are
// errors) < BERTH_* environment variables < command-line flags. Validate
// reports every bad field at once, each named by its YAML path.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Config is the berth server's process configuration. Tenant and runtime
// settings live in the database, not here.
type Config struct {
	// Listen is the address of the HTTP API, console, health and metrics.
	Listen string `json:"listen"`
	// DataDir holds the embedded SQLite database and other local state.
	DataDir string `json:"dataDir"`
	// Database is a postgres:// URL; empty means SQLite under DataDir.
	Database string `json:"database"`
	// Kubeconfig is the cluster registered at start (make run's local cluster).
	Kubeconfig string `json:"kubeconfig"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"logLevel"`
	// LogFormat is json or text.
	LogFormat string `json:"logFormat"`
	// SessionTTL is how long a console login lasts (a Go duration).
	SessionTTL string `json:"sessionTTL"`
	// TokenTTL is the default lifetime of an API token (a Go duration).
	TokenTTL string `json:"tokenTTL"`
	// AuditRetention is how long audit records are kept; at least 180 days.
	AuditRetention string `json:"auditRetention"`
	// NotifyWebhooks are the group-chat webhooks release notifications go
	// to: "wecom=URL,dingtalk=URL,json=URL" (empty: none).
	NotifyWebhooks string `json:"notifyWebhooks"`
}

// Default returns the configuration used when nothing else is given.
func Default() Config {
	return Config{
		Listen:         "127.0.0.1:8080",
		DataDir:        ".berth/data",
		LogLevel:       "info",
		LogFormat:      "text",
		SessionTTL:     "12h",
		TokenTTL:       "2160h",
		AuditRetention: "4320h",
	}
}

// Field describes one setting: its YAML key, environment variable and flag.
type Field struct {
	Key   string // YAML key, also the path in validation errors
	Env   string // BERTH_* variable
	Flag  string // command-line flag
	Usage string
	ptr   func(*Config) *string
}

// Fields lists every setting in the order help shows them.
func Fields() []Field {
	return []Field{
		{"listen", "BERTH_LISTEN", "listen", "address to serve HTTP on", func(c *Config) *string { return &c.Listen }},
		{"dataDir", "BERTH_DATA_DIR", "data-dir", "directory for the embedded database and local state", func(c *Config) *string { return &c.DataDir }},
		{"database", "BERTH_DATABASE", "database", "postgres:// URL (empty: SQLite under the data dir)", func(c *Config) *string { return &c.Database }},
		{"kubeconfig", "BERTH_KUBECONFIG", "kubeconfig", "kubeconfig of a cluster to register at start", func(c *Config) *string { return &c.Kubeconfig }},
		{"logLevel", "BERTH_LOG_LEVEL", "log-level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }},
		{"logFormat", "BERTH_LOG_FORMAT", "log-format", "json or text", func(c *Config) *string { return &c.LogFormat }},
		{"sessionTTL", "BERTH_SESSION_TTL", "session-ttl", "lifetime of a console login", func(c *Config) *string { return &c.SessionTTL }},
		{"tokenTTL", "BERTH_TOKEN_TTL", "token-ttl", "default lifetime of an API token", func(c *Config) *string { return &c.TokenTTL }},
		{"auditRetention", "BERTH_AUDIT_RETENTION", "audit-retention", "how long audit records are kept (at least 4320h, 180 days)", func(c *Config) *string { return &c.AuditRetention }},
		{"notifyWebhooks", "BERTH_NOTIFY_WEBHOOKS", "notify-webhooks", "release notifications: FORMAT=URL,... with FORMAT wecom, dingtalk or json", func(c *Config) *string { return &c.NotifyWebhooks }},
	}
}

// Ptr returns the address of f's value inside c, for binding flags.
func (f Field) Ptr(c *Config) *string { return f.ptr(c) }

// Load builds a Config from defaults, the YAML file at path (if not empty)
// and the environment. Flags are applied by the caller afterwards with
// [Field.Ptr], then the result is checked with [Config.Validate].
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		if err := Parse(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", path, err)
		}
	}
	for _, f := range Fields() {
		if v, ok := lookup(getenv, f.Env); ok {
			*f.ptr(&cfg) = v
		}
	}
	return cfg, nil
}

// Parse decodes YAML into cfg strictly: unknown fields are an error. Values
// absent from data keep what cfg had.
func Parse(data []byte, cfg *Config) error {
	return yaml.UnmarshalStrict(data, cfg)
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// FieldError is one invalid setting.
type FieldError struct {
	Path   string
	Reason string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Reason }

// Validate returns every invalid field at once, joined, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, reason string) { errs = append(errs, FieldError{path, reason}) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", fmt.Sprintf("want host:port, got %q", c.Listen))
	}
	if c.DataDir == "" {
		bad("dataDir", "must not be empty")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		bad("database", "want a postgres:// URL or empty for SQLite")
	}
	if _, err := c.SlogLevel(); err != nil {
		bad("logLevel", err.Error())
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("logFormat", fmt.Sprintf("want json or text, got %q", c.LogFormat))
	}
	for _, d := range []struct {
		path, value string
		min         time.Duration
	}{{"sessionTTL", c.SessionTTL, time.Minute}, {"tokenTTL", c.TokenTTL, time.Minute}, {"auditRetention", c.AuditRetention, 180 * 24 * time.Hour}} {
		if v, err := time.ParseDuration(d.value); err != nil || v < d.min {
			bad(d.path, fmt.Sprintf("want a duration of at least %s, got %q", d.min, d.value))
		}
	}
	return errors.Join(errs...)
}

// Durations returns the parsed SessionTTL, TokenTTL and AuditRetention of
// a validated Config.
func (c Config) Durations() (session, token, retention time.Duration) {
	session, _ = time.ParseDuration(c.SessionTTL)
	token, _ = time.ParseDuration(c.TokenTTL)
	retention, _ = time.ParseDuration(c.AuditRetention)
	return session, token, retention
}

// SlogLevel parses LogLevel.
func (c Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("want debug, info, warn or error, got %q", c.LogLevel)
	}
	return l, nil
}
