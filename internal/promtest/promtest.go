// Package promtest starts real Prometheus and Alertmanager processes
// (Debian's prometheus and prometheus-alertmanager, installed by
// scripts/prometheus.sh) for tests: on free loopback ports, each with its
// own configuration and data directories under the test's temporary
// directory, evaluating and scraping every second. They stop when the test
// ends. The system services the packages ship are never used.
package promtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The binaries, where Debian installs them.
var (
	PrometheusBin   = "/usr/bin/prometheus"
	AlertmanagerBin = "/usr/bin/prometheus-alertmanager"
	PromtoolBin     = "/usr/bin/promtool"
)

// Prometheus is a running Prometheus.
type Prometheus struct {
	// URL is its address, e.g. http://127.0.0.1:41234.
	URL string
	// RulesDir is the directory of rule files it loads (*.yml), reloaded
	// through POST URL/-/reload.
	RulesDir string
}

// Alertmanager is a running Alertmanager.
type Alertmanager struct {
	URL string
	// Config is its configuration file, reloaded through POST
	// URL/-/reload.
	Config string
}

// StartAlertmanager starts an Alertmanager routing everything to a
// receiver that sends nothing, until its configuration is replaced.
func StartAlertmanager(t testing.TB) *Alertmanager {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	write(t, cfg, "route: {receiver: none}\nreceivers: [{name: none}]\n")
	addr := freeAddr(t)
	start(t, dir, "alertmanager", AlertmanagerBin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	am := &Alertmanager{URL: "http://" + addr, Config: cfg}
	waitReady(t, am.URL)
	return am
}

// StartPrometheus starts a Prometheus that scrapes targets (host:port of
// a /metrics each) every second, evaluates the rule files of its RulesDir
// every second, and sends alerts to am (when not nil).
func StartPrometheus(t testing.TB, targets []string, am *Alertmanager) *Prometheus {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [%q]\n", filepath.Join(rules, "*.yml"))
	if am != nil {
		fmt.Fprintf(&b, "alerting:\n  alertmanagers: [{static_configs: [{targets: [%q]}]}]\n", strings.TrimPrefix(am.URL, "http://"))
	}
	b.WriteString("scrape_configs:\n")
	for i, tg := range targets {
		fmt.Fprintf(&b, "- job_name: target%d\n  static_configs: [{targets: [%q]}]\n", i, tg)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	write(t, cfg, b.String())
	addr := freeAddr(t)
	start(t, dir, "prometheus", PrometheusBin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-lifecycle", "--rules.alert.resend-delay=1s", "--log.level=warn")
	p := &Prometheus{URL: "http://" + addr, RulesDir: rules}
	waitReady(t, p.URL)
	return p
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs bin with args, its output in dir/name.log (shown when the
// test failed), and stops it when the test ends.
func start(t testing.TB, dir, name, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v (scripts/prometheus.sh installs it)", name, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, tail(string(b), 4000))
		}
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitReady polls url/-/ready until it answers 200 (a minute at most).
func waitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/-/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after a minute: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
