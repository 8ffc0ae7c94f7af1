package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadLayersDefaultsFileAndEnvironment(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want Config
	}{
		{
			name: "nothing given yields the defaults",
			want: Default(),
		},
		{
			name: "a file overrides every default it names",
			file: "testdata/full.good.yaml",
			want: withDefaults(Config{
				Listen: "0.0.0.0:9090", DataDir: "/var/lib/berth",
				Database:   "postgres://berth@db.internal:5432/berth",
				Kubeconfig: "/etc/berth/kubeconfig", LogLevel: "debug", LogFormat: "json",
				TLSCert: "/etc/berth/tls.crt", TLSKey: "/etc/berth/tls.key",
				TrustedProxies: "10.0.0.0/8, 192.0.2.7", SealKeyFile: "/etc/berth/seal.key", LiveStreams: "200",
				SSOConfig: "/etc/berth/sso.yaml", ClusterQPS: "400",
				LeaderElection: "kubernetes", LeaseDuration: "10s", LeaseNamespace: "berth-system",
			}),
		},
		{
			name: "the environment overrides the file",
			file: "testdata/full.good.yaml",
			env:  map[string]string{"BERTH_LISTEN": "127.0.0.1:7000", "BERTH_LOG_FORMAT": "text"},
			want: withDefaults(Config{
				Listen: "127.0.0.1:7000", DataDir: "/var/lib/berth",
				Database:   "postgres://berth@db.internal:5432/berth",
				Kubeconfig: "/etc/berth/kubeconfig", LogLevel: "debug", LogFormat: "text",
				TLSCert: "/etc/berth/tls.crt", TLSKey: "/etc/berth/tls.key",
				TrustedProxies: "10.0.0.0/8, 192.0.2.7", SealKeyFile: "/etc/berth/seal.key", LiveStreams: "200",
				SSOConfig: "/etc/berth/sso.yaml", ClusterQPS: "400",
				LeaderElection: "kubernetes", LeaseDuration: "10s", LeaseNamespace: "berth-system",
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.file, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// withDefaults fills the settings full.good.yaml does not name.
func withDefaults(c Config) Config {
	d := Default()
	c.SessionTTL, c.TokenTTL, c.AuditRetention = d.SessionTTL, d.TokenTTL, d.AuditRetention
	return c
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	cfg, err := Load("", func(k string) string { return map[string]string{"BERTH_LISTEN": "127.0.0.1:7000"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields() {
		if f.Flag == "listen" {
			*f.Ptr(&cfg) = "127.0.0.1:7001"
		}
	}
	if cfg.Listen != "127.0.0.1:7001" {
		t.Errorf("listen = %q, want the flag's value", cfg.Listen)
	}
}

func TestBadFilesNameEveryBadField(t *testing.T) {
	tests := []struct {
		file      string
		wantParts []string
	}{
		{"unknown-field.bad.yaml", []string{`unknown field "listenn"`}},
		{"bad-values.bad.yaml", []string{"listen:", "database:", "logLevel:", "logFormat:",
			"tlsKey: tlsCert and tlsKey go together", `trustedProxies: want comma-separated CIDRs or addresses, got "not-a-network"`,
			`liveStreams: want a whole number from 1 to 100000, got "0"`, `clusterQPS: want a whole number from 1 to 10000, got "0"`}},
		{"short-durations.bad.yaml", []string{"sessionTTL:", "auditRetention: want a duration of at least 4320h0m0s"}},
		{"election.bad.yaml", []string{"leaderElection: postgres needs a PostgreSQL database", `leaseDuration: want a duration from 1s to 5m, got "500ms"`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg, err := Load(filepath.Join("testdata", tt.file), func(string) string { return "" })
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil {
				t.Fatal("no error for a bad file")
			}
			for _, p := range tt.wantParts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not mention %q", err, p)
				}
			}
		})
	}
}

func TestEveryFieldHasEnvAndFlag(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Fields() {
		if !strings.HasPrefix(f.Env, "BERTH_") || f.Flag == "" || f.Key == "" {
			t.Errorf("field %+v lacks an env var, flag or key", f)
		}
		if seen[f.Key] {
			t.Errorf("field %s listed twice", f.Key)
		}
		seen[f.Key] = true
	}
}

func TestElectionFollowsTheDatabase(t *testing.T) {
	tests := []struct {
		name, database, election string
		want                     string
	}{
		{"sqlite is alone whatever is asked", "", "auto", "none"},
		{"postgres elects by a lease row by default", "postgres://db/berth", "auto", "postgres"},
		{"a kubernetes Lease when asked", "postgres://db/berth", "kubernetes", "kubernetes"},
		{"a single server on postgres when asked", "postgres://db/berth", "none", "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Database, c.LeaderElection = tt.database, tt.election
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if got, lease := c.Election(); got != tt.want || lease != 15*time.Second {
				t.Errorf("Election() = %s, %s; want %s, 15s", got, lease, tt.want)
			}
		})
	}
}
