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
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/resource"
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
	// TLSCert and TLSKey are PEM files of the server's certificate chain
	// and key: given both, the server speaks HTTPS (HTTP/2 included) and
	// session cookies are Secure.
	TLSCert string `json:"tlsCert"`
	TLSKey  string `json:"tlsKey"`
	// TrustedProxies are the reverse proxies in front of the server, as
	// comma-separated CIDRs or addresses: from them the client address is
	// the right-most X-Forwarded-For hop outside this list.
	TrustedProxies string `json:"trustedProxies"`
	// SealKeyFile is the file of the key that seals cluster kubeconfigs
	// (mode 0600); empty means seal.key in DataDir, created on first start.
	SealKeyFile string `json:"sealKeyFile"`
	// LiveStreams bounds the console's live event streams open at once
	// (one per browser tab, at most 4 per user): a whole number from 1 to
	// MaxLiveStreams.
	LiveStreams string `json:"liveStreams"`
	// SSOConfig is the YAML file of the LDAP directories and OIDC
	// providers users sign in with (see docs/sso.md); empty: local users
	// only.
	SSOConfig string `json:"ssoConfig"`
	// NacosGRPC is the address of the config center's Nacos 2.x gRPC
	// server: empty means the host of Listen with its port + 1000, as
	// Nacos clients expect; "off" serves none.
	NacosGRPC string `json:"nacosGrpc"`
	// ClusterQPS is the rate of requests Berth sends each cluster's API
	// server, a whole number from 1 to MaxClusterQPS (bursts of twice as
	// many): size it to the clusters' API servers and to how many
	// applications Berth applies at once.
	ClusterQPS string `json:"clusterQPS"`
	// LeaderElection picks how the replicas sharing a PostgreSQL database
	// choose the one that runs the controllers: "postgres" (a lease row in
	// the database), "kubernetes" (a coordination.k8s.io Lease in
	// LeaseNamespace of the cluster the server runs in, or of Kubeconfig),
	// "auto": postgres with a database URL; or "none": this server is the
	// only one on its database and always leads (an SQLite server always
	// is), so it rides out a database outage instead of stopping when its
	// lease cannot be renewed.
	LeaderElection string `json:"leaderElection"`
	// LeaseDuration is how long a leader's lease lasts without renewal: a
	// killed leader is replaced within it (a Go duration, 1s to 5m).
	LeaseDuration string `json:"leaseDuration"`
	// LeaseNamespace is the namespace of the Kubernetes Lease.
	LeaseNamespace string `json:"leaseNamespace"`
	// Alerting (docs/observability.md): PrometheusURL and AlertmanagerURL
	// are the processes Berth reloads and asks; PrometheusRules is the
	// directory of rule files that Prometheus loads and Berth writes;
	// AlertmanagerConfig the configuration file Berth writes whole;
	// AlertHookURL the API's address as Alertmanager reaches it (default
	// http://<listen>/api/v1); Promtool checks rules (default: on PATH);
	// AlertTiming is Alertmanager's "groupWait,groupInterval,repeatInterval"
	// (default 30s,5m,4h). Alerting is on when AlertmanagerURL is set.
	PrometheusURL      string `json:"prometheusURL"`
	PrometheusRules    string `json:"prometheusRules"`
	AlertmanagerURL    string `json:"alertmanagerURL"`
	AlertmanagerConfig string `json:"alertmanagerConfig"`
	AlertHookURL       string `json:"alertHookURL"`
	Promtool           string `json:"promtool"`
	AlertTiming        string `json:"alertTiming"`
	// PipelineKubeconfig is the kubeconfig of the cluster whose Tekton
	// runs the pipelines' builds (empty: the local executor builds on
	// this machine); PipelineNamespace the namespace of every build there
	// (empty: each project's "<tenant>-<project>-builds").
	PipelineKubeconfig string `json:"pipelineKubeconfig"`
	PipelineNamespace  string `json:"pipelineNamespace"`
	// ChartRepos are the app store's platform-wide chart repositories,
	// "NAME=URL,..." (docs/app-store.md); ChartAllow, when set, the only
	// charts installs may use, "CATALOG/CHART[@VERSION],...".
	ChartRepos string `json:"chartRepos"`
	ChartAllow string `json:"chartAllow"`
}

// NacosGRPCAddr is the address the Nacos gRPC server listens on, "" for
// none.
func (c Config) NacosGRPCAddr() string {
	switch c.NacosGRPC {
	case "off":
		return ""
	case "":
		host, port, err := net.SplitHostPort(c.Listen)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n == 0 || n+1000 > 65535 {
			return ""
		}
		return net.JoinHostPort(host, strconv.Itoa(n+1000))
	}
	return c.NacosGRPC
}

// MaxLiveStreams is the largest LiveStreams accepted.
const MaxLiveStreams = 100000

// MaxClusterQPS is the largest ClusterQPS accepted.
const MaxClusterQPS = 10000

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
		LiveStreams:    "1000",
		ClusterQPS:     "200",
		LeaderElection: "auto",
		LeaseDuration:  "15s",
		LeaseNamespace: "berth",
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
		{"tlsCert", "BERTH_TLS_CERT", "tls-cert", "PEM certificate chain: serve HTTPS (with --tls-key)", func(c *Config) *string { return &c.TLSCert }},
		{"tlsKey", "BERTH_TLS_KEY", "tls-key", "PEM private key of --tls-cert", func(c *Config) *string { return &c.TLSKey }},
		{"trustedProxies", "BERTH_TRUSTED_PROXIES", "trusted-proxies", "CIDR,... of reverse proxies whose X-Forwarded-For is read (right-most untrusted hop)", func(c *Config) *string { return &c.TrustedProxies }},
		{"liveStreams", "BERTH_LIVE_STREAMS", "live-streams", "most console live event streams open at once (4 per user)", func(c *Config) *string { return &c.LiveStreams }},
		{"ssoConfig", "BERTH_SSO_CONFIG", "sso-config", "YAML file of the LDAP directories and OIDC providers to sign in with (empty: local users only)", func(c *Config) *string { return &c.SSOConfig }},
		{"nacosGrpc", "BERTH_NACOS_GRPC", "nacos-grpc", "address of the config center's Nacos gRPC server (empty: the listen port + 1000; off: none)", func(c *Config) *string { return &c.NacosGRPC }},
		{"clusterQPS", "BERTH_CLUSTER_QPS", "cluster-qps", fmt.Sprintf("requests per second to each cluster's API server, bursts of twice as many (1 to %d)", MaxClusterQPS), func(c *Config) *string { return &c.ClusterQPS }},
		{"leaderElection", "BERTH_LEADER_ELECTION", "leader-election", "how replicas on one PostgreSQL elect the one running the controllers: auto, postgres, kubernetes, or none (a single server)", func(c *Config) *string { return &c.LeaderElection }},
		{"leaseDuration", "BERTH_LEASE_DURATION", "lease-duration", "how long a leader's lease lasts unrenewed: a killed leader is replaced within it (1s to 5m)", func(c *Config) *string { return &c.LeaseDuration }},
		{"leaseNamespace", "BERTH_LEASE_NAMESPACE", "lease-namespace", "namespace of the Kubernetes Lease (leaderElection kubernetes)", func(c *Config) *string { return &c.LeaseNamespace }},
		{"prometheusURL", "BERTH_PROMETHEUS_URL", "prometheus-url", "Prometheus that loads Berth's alert rules (reloaded through /-/reload)", func(c *Config) *string { return &c.PrometheusURL }},
		{"prometheusRules", "BERTH_PROMETHEUS_RULES", "prometheus-rules", "directory of rule files Prometheus loads and Berth writes (berth_*.yml)", func(c *Config) *string { return &c.PrometheusRules }},
		{"alertmanagerURL", "BERTH_ALERTMANAGER_URL", "alertmanager-url", "Alertmanager that routes Berth's alerts (empty: no alerting)", func(c *Config) *string { return &c.AlertmanagerURL }},
		{"alertmanagerConfig", "BERTH_ALERTMANAGER_CONFIG", "alertmanager-config", "Alertmanager's configuration file, written by Berth", func(c *Config) *string { return &c.AlertmanagerConfig }},
		{"alertHookURL", "BERTH_ALERT_HOOK_URL", "alert-hook-url", "the API's address as Alertmanager reaches it (default http://<listen>/api/v1)", func(c *Config) *string { return &c.AlertHookURL }},
		{"promtool", "BERTH_PROMTOOL", "promtool", "promtool binary that checks alert rules (default: on PATH)", func(c *Config) *string { return &c.Promtool }},
		{"alertTiming", "BERTH_ALERT_TIMING", "alert-timing", "Alertmanager's groupWait,groupInterval,repeatInterval (default 30s,5m,4h)", func(c *Config) *string { return &c.AlertTiming }},
		{"pipelineKubeconfig", "BERTH_PIPELINE_KUBECONFIG", "pipeline-kubeconfig", "kubeconfig of the cluster whose Tekton runs pipeline builds (empty: builds run on this machine)", func(c *Config) *string { return &c.PipelineKubeconfig }},
		{"pipelineNamespace", "BERTH_PIPELINE_NAMESPACE", "pipeline-namespace", "namespace of every Tekton build (empty: <tenant>-<project>-builds per project)", func(c *Config) *string { return &c.PipelineNamespace }},
		{"chartRepos", "BERTH_CHART_REPOS", "chart-repos", "the app store's chart repositories, NAME=URL,... (index.yaml over HTTP(S))", func(c *Config) *string { return &c.ChartRepos }},
		{"chartAllow", "BERTH_CHART_ALLOW", "chart-allow", "the only charts installs may use, CATALOG/CHART[@VERSION],... (empty: every chart)", func(c *Config) *string { return &c.ChartAllow }},
		{"sealKeyFile", "BERTH_SEAL_KEY_FILE", "seal-key-file", "key file sealing cluster kubeconfigs, mode 0600 (empty: seal.key in the data dir, created on first start)", func(c *Config) *string { return &c.SealKeyFile }},
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

// Bind registers --config and a flag for every field on fs, and returns
// the function that builds the Config once the flags are parsed: Load,
// then the flags given, then Validate (every bad field at once).
func Bind(fs *pflag.FlagSet, getenv func(string) string) func() (Config, error) {
	path := fs.String("config", "", "YAML configuration file")
	values := map[string]*string{}
	defaults := Default()
	for _, f := range Fields() {
		values[f.Flag] = fs.String(f.Flag, *f.Ptr(&defaults), f.Usage+" (env "+f.Env+")")
	}
	return func() (Config, error) {
		cfg, err := Load(*path, getenv)
		if err != nil {
			return cfg, err
		}
		for _, f := range Fields() {
			if fs.Changed(f.Flag) {
				*f.Ptr(&cfg) = *values[f.Flag]
			}
		}
		if err := cfg.Validate(); err != nil {
			return cfg, fmt.Errorf("invalid configuration:\n%w", err)
		}
		return cfg, nil
	}
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

// Validate returns every invalid field at once, joined, or nil.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, reason string) { errs = append(errs, resource.FieldError{Path: path, Reason: reason}) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", fmt.Sprintf("want host:port, got %q", c.Listen))
	}
	if c.DataDir == "" {
		bad("dataDir", "must not be empty")
	}
	if c.NacosGRPC != "" && c.NacosGRPC != "off" {
		if _, _, err := net.SplitHostPort(c.NacosGRPC); err != nil {
			bad("nacosGrpc", fmt.Sprintf("want host:port, off or empty, got %q", c.NacosGRPC))
		}
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
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tlsKey", "tlsCert and tlsKey go together: give both or neither")
	}
	if _, err := c.Proxies(); err != nil {
		bad("trustedProxies", err.Error())
	}
	if n, err := strconv.Atoi(c.ClusterQPS); err != nil || n < 1 || n > MaxClusterQPS {
		bad("clusterQPS", fmt.Sprintf("want a whole number from 1 to %d, got %q", MaxClusterQPS, c.ClusterQPS))
	}
	if n, err := strconv.Atoi(c.LiveStreams); err != nil || n < 1 || n > MaxLiveStreams {
		bad("liveStreams", fmt.Sprintf("want a whole number from 1 to %d, got %q", MaxLiveStreams, c.LiveStreams))
	}
	switch c.LeaderElection {
	case "auto", "none":
	case "postgres", "kubernetes":
		if c.Database == "" {
			bad("leaderElection", fmt.Sprintf("%s needs a PostgreSQL database: an SQLite server is alone and always leads", c.LeaderElection))
		}
	default:
		bad("leaderElection", fmt.Sprintf("want auto, postgres, kubernetes or none, got %q", c.LeaderElection))
	}
	if d, err := time.ParseDuration(c.LeaseDuration); err != nil || d < time.Second || d > 5*time.Minute {
		bad("leaseDuration", fmt.Sprintf("want a duration from 1s to 5m, got %q", c.LeaseDuration))
	}
	if c.LeaderElection == "kubernetes" && c.LeaseNamespace == "" {
		bad("leaseNamespace", "must not be empty with leaderElection kubernetes")
	}
	c.validateAlerting(bad)
	if _, err := c.Repos(); err != nil {
		bad("chartRepos", err.Error())
	}
	if _, err := c.Allowed(); err != nil {
		bad("chartAllow", err.Error())
	}
	return errors.Join(errs...)
}

// Repos parses ChartRepos: catalogue name → repository URL.
func (c Config) Repos() (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range splitList(c.ChartRepos) {
		name, u, ok := strings.Cut(kv, "=")
		if !ok || name == "" || (!strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://")) {
			return nil, fmt.Errorf("want NAME=http(s)://URL, got %q", kv)
		}
		if _, dup := out[name]; dup || name == "starter" {
			return nil, fmt.Errorf("catalogue %q is named twice (starter is built in)", name)
		}
		out[name] = u
	}
	return out, nil
}

// Allowed parses ChartAllow: catalogue name → "chart" or "chart@version"
// entries; nil when every chart is allowed.
func (c Config) Allowed() (map[string][]string, error) {
	var out map[string][]string
	for _, e := range splitList(c.ChartAllow) {
		cat, chart, ok := strings.Cut(e, "/")
		if !ok || cat == "" || chart == "" {
			return nil, fmt.Errorf("want CATALOG/CHART[@VERSION], got %q", e)
		}
		if out == nil {
			out = map[string][]string{}
		}
		out[cat] = append(out[cat], chart)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Election returns how this server elects its leader: "none" (SQLite, or
// a server alone on PostgreSQL by configuration), "postgres" or
// "kubernetes", and the lease duration, of a validated Config.
func (c Config) Election() (kind string, lease time.Duration) {
	lease, _ = time.ParseDuration(c.LeaseDuration)
	switch {
	case c.Database == "" || c.LeaderElection == "none":
		return "none", lease
	case c.LeaderElection == "auto":
		return "postgres", lease
	}
	return c.LeaderElection, lease
}

// validateAlerting checks the alerting settings: with AlertmanagerURL set,
// Prometheus's URL and both files are needed.
func (c Config) validateAlerting(bad func(path, reason string)) {
	if _, err := c.AlertTimings(); err != nil {
		bad("alertTiming", err.Error())
	}
	if c.AlertmanagerURL == "" {
		return
	}
	for _, f := range []struct{ path, v string }{{"prometheusURL", c.PrometheusURL}, {"alertmanagerURL", c.AlertmanagerURL}, {"alertHookURL", c.AlertHookURL}} {
		if f.v != "" && !strings.HasPrefix(f.v, "http://") && !strings.HasPrefix(f.v, "https://") {
			bad(f.path, fmt.Sprintf("want an http(s) URL, got %q", f.v))
		}
	}
	for _, f := range []struct{ path, v string }{{"prometheusURL", c.PrometheusURL}, {"prometheusRules", c.PrometheusRules}, {"alertmanagerConfig", c.AlertmanagerConfig}} {
		if f.v == "" {
			bad(f.path, "alerting (alertmanagerURL) needs it")
		}
	}
}

// AlertTimings parses AlertTiming: Alertmanager's group wait, group
// interval and repeat interval (zero values when empty: the defaults).
func (c Config) AlertTimings() ([3]time.Duration, error) {
	var out [3]time.Duration
	if c.AlertTiming == "" {
		return out, nil
	}
	parts := strings.Split(c.AlertTiming, ",")
	if len(parts) != 3 {
		return out, fmt.Errorf("want groupWait,groupInterval,repeatInterval such as 30s,5m,4h, got %q", c.AlertTiming)
	}
	for i, p := range parts {
		d, err := time.ParseDuration(strings.TrimSpace(p))
		if err != nil || d < time.Second || d%time.Second != 0 {
			return out, fmt.Errorf("want whole seconds of at least 1s, got %q", p)
		}
		out[i] = d
	}
	return out, nil
}

// HookURL is the API's address as Alertmanager reaches it.
func (c Config) HookURL() string {
	if c.AlertHookURL != "" {
		return c.AlertHookURL
	}
	return "http://" + c.Listen + "/api/v1"
}

// Proxies parses TrustedProxies: comma-separated CIDRs, or addresses
// standing for themselves alone.
func (c Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("want comma-separated CIDRs or addresses, got %q", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Streams returns the parsed LiveStreams of a validated Config.
func (c Config) Streams() int {
	n, _ := strconv.Atoi(c.LiveStreams)
	return n
}

// QPS returns the parsed ClusterQPS of a validated Config.
func (c Config) QPS() int {
	n, _ := strconv.Atoi(c.ClusterQPS)
	return n
}

// SealKeyPath is SealKeyFile, or seal.key in DataDir when it is empty.
func (c Config) SealKeyPath() string {
	if c.SealKeyFile != "" {
		return c.SealKeyFile
	}
	return filepath.Join(c.DataDir, "seal.key")
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
