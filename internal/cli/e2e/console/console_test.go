// Package console runs the console's browser journeys (web/e2e, Playwright
// driving Debian's chromium) against a real `berth server` on the local
// cluster, and reports each journey in each language as a subtest, so that
// `make test` counts them with every other test. Every API exchange the
// browser makes passes a proxy that checks it against the OpenAPI document
// the server serves.
package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/servercmd"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/openapicheck"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

const adminPassword = "first-admin-password"

// TestConsoleJourneysInTheBrowser is the browser suite. It fails, never
// skips, when what it needs is missing, saying how to get it.
func TestConsoleJourneysInTheBrowser(t *testing.T) {
	web, err := filepath.Abs("../../../../web")
	if err != nil {
		t.Fatal(err)
	}
	need(t, filepath.Join(web, "node_modules", "@playwright", "test"), "the console's npm packages: run `make web` (npm ci)")
	need(t, chromium(), "Debian's chromium: run scripts/chromium.sh (make test does)")

	c := clustertest.Start(t)
	prefix := fmt.Sprintf("console-%d", time.Now().UnixNano()%100000)
	t.Cleanup(func() { deleteNamespaces(c, prefix) })
	// The browser reaches the server through the checked proxy, so the
	// OIDC provider sends it back there: open the proxy's port first.
	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxyURL := "http://" + proxyLn.Addr().String()
	url := startServer(t, c.Kubeconfig(), ssoConfig(t, proxyURL))
	if body := get(t, url+"/"); !strings.Contains(body, `<div id="root">`) {
		t.Fatalf("the server does not serve the built console at / (run `make web` before go test):\n%.300s", body)
	}

	logs := terminalLogs(t, c)
	// What every simulated container logs (kwok's ClusterLogs): the log
	// search journey looks for its one ERROR line.
	const podErrorLine = "ERROR card 4111 refused: limit exceeded"
	cri := "2026-12-07T09:00:00.000000001Z stdout F INFO started\n" +
		"2026-12-07T09:00:01.000000001Z stdout F " + podErrorLine + "\n" +
		"2026-12-07T09:00:02.000000001Z stdout F INFO served\n"
	if err := os.WriteFile(c.PodLogFile(), []byte(cri), 0o600); err != nil {
		t.Fatal(err)
	}

	report := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.CommandContext(t.Context(), "npx", "playwright", "test")
	cmd.Dir = web
	cmd.Env = append(os.Environ(), "BERTH_URL="+checkedProxy(t, url, proxyLn), "BERTH_ADMIN_PASSWORD="+adminPassword,
		"BERTH_NS_PREFIX="+prefix, "BERTH_REPORT="+report, "BERTH_TERMINAL_LOGS="+logs, "BERTH_POD_LOG_LINE="+podErrorLine, "CHROMIUM="+chromium(),
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1", "CI=true", "FORCE_COLOR=0")
	out := &lineLog{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	runErr := cmd.Run()
	out.Flush()

	journeys := readReport(t, report)
	if len(journeys) == 0 {
		t.Fatalf("playwright ran no journey (%v)", runErr)
	}
	passed, failed := 0, 0
	for _, j := range journeys {
		t.Run(j.name, func(t *testing.T) {
			if j.status != "passed" && j.status != "expected" {
				failed++
				t.Errorf("%s: %s\n%s", j.name, j.status, j.detail)
				return
			}
			passed++
		})
	}
	t.Logf("browser journeys: %d passed, %d failed", passed, failed)
	if runErr != nil && failed == 0 {
		t.Errorf("playwright failed outside any journey: %v", runErr)
	}
}

// terminalLogs writes an application log into a directory of the cluster's
// exec directory, where kwok runs the commands exec'd into pods (so the
// path a pod's tail reads is this path of the machine); the terminal
// journey's policy allows that directory.
func terminalLogs(t *testing.T, c *clustertest.Cluster) string {
	t.Helper()
	dir, err := os.MkdirTemp(c.ExecDir(), "console-logs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var b strings.Builder
	for i := range 40 {
		level := "INFO"
		if i%5 == 0 {
			level = "ERROR"
		}
		fmt.Fprintf(&b, "%s request %d\n", level, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func need(t *testing.T, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("missing %s: %s", path, what)
	}
}

func chromium() string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startServer runs `berth server` in-process on a loopback port and waits
// until it is ready.
func startServer(t *testing.T, kubeconfig, ssoConfig string) string {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Kubeconfig, cfg.Listen = filepath.Join(dir, "data"), kubeconfig, ln.Addr().String()
	cfg.SSOConfig = ssoConfig
	vars := map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword, "BERTH_CONFIG": filepath.Join(dir, "config.yaml")}
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return vars[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- servercmd.Serve(ctx, cfg, env, slog.New(slog.DiscardHandler), ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	url := "http://" + ln.Addr().String()
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ssoConfig runs an OIDC provider (oauth2-proxy's mockoidc, which signs
// in its default user, jane.doe of groups engineering and design, without
// a form) and returns the server's SSO configuration naming it "idp",
// with base as the console's address.
func ssoConfig(t *testing.T, base string) string {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	dir := t.TempDir()
	secret := filepath.Join(dir, "client-secret")
	conf := filepath.Join(dir, "sso.yaml")
	if err := os.WriteFile(secret, []byte(m.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "oidc:\n  - name: idp\n    displayName: {zh-CN: 行内统一认证, en: Bank SSO}\n    issuer: " + m.Issuer() +
		"\n    clientID: " + m.ClientID + "\n    clientSecretFile: " + secret + "\n    redirectURL: " + base + "/api/v1/sso/idp/callback\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// checkedProxy serves the console through a proxy that checks every API
// exchange (under /api/) against the server's OpenAPI document; the
// console's own files pass unchecked.
func checkedProxy(t *testing.T, target string, ln net.Listener) string {
	t.Helper()
	doc, err := openapicheck.Fetch(t.Context(), http.DefaultClient, target+"/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	checked := &openapicheck.Transport{Doc: doc, TB: t}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host
		},
		Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			// A WebSocket upgrade (the terminal) answers 101 and then
			// carries the socket, which has no body to check: it passes
			// through, as the static console does.
			if strings.HasPrefix(r.URL.Path, "/api/") && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				return checked.RoundTrip(r)
			}
			return http.DefaultTransport.RoundTrip(r)
		}),
		FlushInterval: -1,
	}
	srv := httptest.NewUnstartedServer(proxy)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// journey is one test of one Playwright project (language).
type journey struct{ name, status, detail string }

// readReport reads Playwright's JSON report: suites of specs, each run once
// per project.
func readReport(t *testing.T, path string) []journey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("playwright wrote no report: %v", err)
	}
	type result struct {
		Status string `json:"status"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	type spec struct {
		Title string `json:"title"`
		File  string `json:"file"`
		Tests []struct {
			ProjectName string   `json:"projectName"`
			Status      string   `json:"status"`
			Results     []result `json:"results"`
		} `json:"tests"`
	}
	type suite struct {
		Specs  []spec  `json:"specs"`
		Suites []suite `json:"suites"`
	}
	var rep struct {
		Suites []suite `json:"suites"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("playwright report: %v", err)
	}
	var out []journey
	var walk func(s suite)
	walk = func(s suite) {
		for _, sp := range s.Specs {
			for _, ts := range sp.Tests {
				j := journey{name: ts.ProjectName + "/" + strings.TrimSuffix(sp.File, ".spec.ts") + ": " + sp.Title}
				j.status = "skipped"
				for _, r := range ts.Results {
					j.status = r.Status
					for _, e := range r.Errors {
						j.detail += e.Message + "\n"
					}
				}
				out = append(out, j)
			}
		}
		for _, sub := range s.Suites {
			walk(sub)
		}
	}
	for _, s := range rep.Suites {
		walk(s)
	}
	return out
}

// lineLog hands Playwright's output to the test log a line at a time.
type lineLog struct {
	t   *testing.T
	buf strings.Builder
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.buf.Write(p)
	s := l.buf.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		sc := bufio.NewScanner(strings.NewReader(s[:i]))
		for sc.Scan() {
			l.t.Log(sc.Text())
		}
		l.buf.Reset()
		l.buf.WriteString(s[i+1:])
	}
	return len(p), nil
}

func (l *lineLog) Flush() {
	if l.buf.Len() > 0 {
		l.t.Log(l.buf.String())
	}
}

// deleteNamespaces removes the namespaces the journeys' environments used.
func deleteNamespaces(c *clustertest.Cluster, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := c.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, prefix+"-") {
			_ = c.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		}
	}
}
