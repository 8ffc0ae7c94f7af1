package helmchart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"berth.dev/berth/internal/config"
)

// TestServerAcceptsTheChartsConfiguration reads what the chart gives
// `berth server` — its arguments, the --config file, the environment —
// through the server's own configuration loader: every flag exists, the
// file passes its strict parse, and the result validates.
func TestServerAcceptsTheChartsConfiguration(t *testing.T) {
	for name, vals := range map[string]map[string]any{"defaults": nil, "three replicas on PostgreSQL": haValues(),
		"kubernetes election": kubeElectionValues()} {
		objs := mustRender(t, vals)
		_, c := deployment(t, objs)
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if !object(t, objs, "ConfigMap", releaseName, &cm) {
			t.Fatal("no ConfigMap")
		}
		file := filepath.Join(t.TempDir(), "berth.yaml")
		if err := os.WriteFile(file, []byte(cm.Data["berth.yaml"]), 0o600); err != nil {
			t.Fatal(err)
		}
		if len(c.Args) == 0 || c.Args[0] != "server" {
			t.Fatalf("%s: args %v, want the server command", name, c.Args)
		}
		var args []string
		for _, a := range c.Args[1:] {
			if strings.HasPrefix(a, "--config=") {
				a = "--config=" + file
			}
			args = append(args, a)
		}
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
			if e.ValueFrom != nil {
				env[e.Name] = "set" // from Secrets: the server sees their values
			}
		}
		if _, ok := env["BERTH_DATABASE"]; ok {
			env["BERTH_DATABASE"] = "postgres://berth@db.bank.internal:5432/berth"
		}
		fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
		load := config.Bind(fs, func(k string) string { return env[k] })
		if err := fs.Parse(args); err != nil {
			t.Fatalf("%s: the server refuses the chart's arguments %v: %v", name, args, err)
		}
		cfg, err := load()
		if err != nil {
			t.Fatalf("%s: the server refuses the chart's configuration: %v", name, err)
		}
		if cfg.Listen != ":8080" || cfg.NacosGRPCAddr() != ":9080" || cfg.DataDir != "/var/lib/berth" || cfg.SealKeyPath() != "/etc/berth/secrets/sealKey" {
			t.Errorf("%s: listen %q, nacos %q, data %q, seal key %q: want the ports, volume and key the chart mounts",
				name, cfg.Listen, cfg.NacosGRPCAddr(), cfg.DataDir, cfg.SealKeyPath())
		}
		if cfg.LogFormat != "json" {
			t.Errorf("%s: log format %q, want the chart's json", name, cfg.LogFormat)
		}
		kind, _ := cfg.Election()
		wantKind, wantNS := "none", "berth" // SQLite: one server; the server's default namespace
		if vals != nil {
			wantKind = "postgres"
		}
		if vals != nil && vals["leaderElection"] == "kubernetes" {
			wantKind, wantNS = "kubernetes", namespace
		}
		if kind != wantKind || cfg.LeaseNamespace != wantNS {
			t.Errorf("%s: election %q, lease namespace %q; want %q, %q", name, kind, cfg.LeaseNamespace, wantKind, wantNS)
		}
		if vals != nil && (cfg.QPS() != 400 || cfg.LogLevel != "debug") {
			t.Errorf("%s: cluster QPS %d, log level %q: want the values' 400, debug", name, cfg.QPS(), cfg.LogLevel)
		}
	}
}
