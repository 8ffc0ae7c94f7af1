// Package grayrelease_test proves gray release end to end with real
// processes: `berth server` on a real local cluster, `berth gateway`
// following the server's configuration stream and resolving Services from
// EndpointSlices, and two versions of a small HTTP service the test serves
// itself. The cluster runs with localcluster's PodIP option: every
// simulated pod gets this machine's own non-loopback address (EndpointSlices
// refuse loopback), so the endpoints Kubernetes derives from the pods are
// the test's listeners, one port per version.
package grayrelease_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/openapicheck"
)

var (
	hostIP string // the pods' IP: an address of this machine
	binary string // the berth binary under test
)

func TestMain(m *testing.M) {
	ip, err := localIPv4()
	if err != nil {
		fmt.Fprintln(os.Stderr, "grayrelease:", err)
		os.Exit(1)
	}
	hostIP, clustertest.PodIP = ip, ip
	dir, err := os.MkdirTemp("", "berth-gray-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "berth")
	build := exec.Command("go", "build", "-o", binary, "berth.dev/berth/cmd/berth")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build berth:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	clustertest.Main(m)
}

// localIPv4 is the first IPv4 address of an interface that is up and not
// loopback.
func localIPv4() (string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
				return n.IP.String(), nil
			}
		}
	}
	return "", fmt.Errorf("no non-loopback IPv4 address on this machine; the gray e2e serves pods on one")
}

const adminPassword = "gray-e2e-admin-password"

// stack is the running server, gateway and backends of one test.
type stack struct {
	t       testing.TB
	api     string // http://host:port/api/v1
	token   string
	gateway string       // http://host:port
	host    string       // the application's route host
	plan    string       // the plans' API path
	config  string       // the CLI's configuration file
	phase   atomic.Value // the last change made, for failure reports
}

// TestGrayReleaseRoutesCohortsThroughTheGateway walks a plan from pilot
// tellers to a branch, a region and a weight, promotes it keeping the old
// version, switches back, runs a blue-green plan and aborts a canary, and
// checks after each change who reaches which version — while a steady load
// through the gateway counts every failed request (there must be none).
func TestGrayReleaseRoutesCohortsThroughTheGateway(t *testing.T) {
	s, dir := newStack(t)
	load := s.steadyLoad()
	s.cli(adminPassword+"\n", "login", "--server", strings.TrimSuffix(s.api, "/api/v1"), "--username", "admin", "--password-stdin")
	s.cli("", "context", "set", "-t", "bank", "-p", "pay")
	s.cli("", "org", "import", writeFile(t, dir, "org.csv", orgCSV))
	s.cli("", "gray", "start", "svc", "v2", "-e", "dev", "--step", "tellers=Zhang Wei", "--step", "branches=Haidian",
		"--step", "regions=north", "--step", "weight=30")
	teller, branch, region, other := org("T900", "0202", "south"), org("T001", "0101", "south"), org("T002", "0303", "north"), org("T003", "0404", "south")
	s.eventually("pilot teller on gray", teller, "v2")
	s.expect(map[string]string{"teller": "v2", "branch": "v1", "region": "v1", "other": "v1"}, teller, branch, region, other)

	s.cli("", "gray", "step", "svc", "-e", "dev")
	s.eventually("branch 0101 on gray", branch, "v2")
	s.expect(map[string]string{"teller": "v2", "branch": "v2", "region": "v1", "other": "v1"}, teller, branch, region, other)

	s.cli("", "gray", "step", "svc", "-e", "dev")
	s.eventually("region north on gray", region, "v2")
	s.expect(map[string]string{"teller": "v2", "branch": "v2", "region": "v2", "other": "v1"}, teller, branch, region, other)

	s.cli("", "gray", "step", "svc", "-e", "dev")
	s.eventuallyWeighted(other, 0.30)
	if out := s.cli("", "gray", "status", "svc", "-e", "dev"); !strings.Contains(out, "4/4") || !strings.Contains(out, "30% gray") {
		t.Fatalf("gray status does not show step 4/4 at 30%%:\n%s", out)
	}

	s.cli("", "gray", "promote", "svc", "-e", "dev", "--keep-old", "1h")
	s.eventually("everyone on v2 after promotion", other, "v2")
	s.expect(map[string]string{"teller": "v2", "branch": "v2", "region": "v2", "other": "v2"}, teller, branch, region, other)

	s.eventuallyServing("/tenants/bank/projects/pay/environments/dev/grayplans/svc", "v1") // the kept copy of v1 runs
	// The switch back is refused, saying so, whenever the kept copy does not
	// run in full at that moment; a release manager retries, and so do we.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, err := s.try("gray", "abort", "svc", "-e", "dev", "--reason", "switch back drill")
		if err == nil {
			break
		}
		if !strings.Contains(out, "not running in full yet") || time.Now().After(deadline) {
			t.Fatalf("switch back: %v\n%s", err, out)
		}
	}
	s.eventually("everyone back on v1 after switching back", teller, "v1")
	s.expect(map[string]string{"teller": "v1", "branch": "v1", "region": "v1", "other": "v1"}, teller, branch, region, other)

	s.cli("", "gray", "start", "svc", "v2", "-e", "dev", "--blue-green")
	s.eventually("blue-green sends everyone to gray", other, "v2")
	s.expect(map[string]string{"teller": "v2", "other": "v2"}, teller, other)
	s.cli("", "gray", "set", "svc", "-e", "dev", "--side", "stable")
	s.eventually("blue-green switched back to stable", other, "v1")
	s.cli("", "gray", "abort", "svc", "-e", "dev")

	s.plan = "/tenants/bank/projects/pay/environments/dev/grayplans"
	s.must("POST", s.plan, map[string]any{"application": "svc", "grayVersion": "v2", "steps": []map[string]any{{"tellers": []string{"T900"}}}}, http.StatusCreated)
	s.eventually("pilot teller on gray again", teller, "v2")
	s.must("POST", s.plan+"/svc/abort", map[string]string{"reason": "abort drill"}, http.StatusOK)
	s.eventually("pilot teller back on stable after abort", teller, "v1")
	s.expect(map[string]string{"teller": "v1", "other": "v1"}, teller, other)

	// Every change is in the audit trail, in order, with who made it.
	var trail struct {
		Items []struct{ Action, Actor, Outcome string }
	}
	if err := json.Unmarshal(s.must("GET", "/audit?tenant=bank&action=grayplan.&limit=100", nil, http.StatusOK), &trail); err != nil {
		t.Fatal(err)
	}
	var changes []string
	for i := len(trail.Items) - 1; i >= 0; i-- {
		if r := trail.Items[i]; r.Actor == "admin" && r.Outcome == "success" {
			changes = append(changes, strings.TrimPrefix(r.Action, "grayplan."))
		}
	}
	want := []string{"start", "step", "step", "step", "promote", "abort", "start", "set", "abort", "start", "abort"}
	if !slices.Equal(changes, want) {
		t.Fatalf("audited plan changes %v, want %v", changes, want)
	}

	sent, failed := load()
	if failed != 0 || sent < 100 {
		t.Fatalf("steady load: %d of %d requests failed during the changes (want none, and at least 100 sent)", failed, sent)
	}
	t.Logf("steady load: %d requests, none failed", sent)
}

// newStack starts the backends, the server on the test binary's cluster
// with svc v1 deployed (v2 registered), and a gateway routing svc to v1.
func newStack(t testing.TB) (*stack, string) { return newStackWith(t, stackOptions{}) }

// stackOptions add to what newStack starts.
type stackOptions struct {
	serverArgs   []string // more flags of `berth server`
	gatewayAdmin string   // the gateway's /metrics address (empty: none)
	serverListen string   // the server's address (empty: a free port)
}

func newStackWith(t testing.TB, o stackOptions) (*stack, string) {
	c := clustertest.Start(t)
	dir := t.TempDir()
	ns := fmt.Sprintf("gray-e2e-%d", time.Now().UnixNano()%100000)
	ports := [2]int{freePort(t, hostIP), freePort(t, hostIP)}
	serveVersion(t, hostIP, ports[0], "v1")
	serveVersion(t, hostIP, ports[1], "v2")

	s := &stack{t: t, host: "svc." + ns, config: filepath.Join(dir, "cli.yaml")}
	if o.serverListen == "" {
		o.serverListen = fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	}
	server := startProcess(t, dir, "server", nil, append([]string{"--data-dir", filepath.Join(dir, "data"), "--kubeconfig", c.Kubeconfig(),
		"--listen", o.serverListen}, o.serverArgs...)...)
	s.api = checked(t, server) + "/api/v1"
	s.token = s.login()
	s.apply(fmt.Sprintf(fixture, ns, ports[0]))
	s.must("POST", "/tenants/bank/projects/pay/applications/svc/versions", map[string]any{"name": "v2", "image": "registry.local/svc:2",
		"tier": "small", "orchestration": map[string]any{"replicas": 2, "ports": []map[string]any{{"name": "http", "containerPort": ports[1]}}}}, http.StatusCreated)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) { // until the server has connected the cluster
		code, body := s.call("PUT", "/tenants/bank/projects/pay/environments/dev/deployments/svc", map[string]string{"version": "v1"}, s.token)
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("deploy v1: %d %s", code, body)
		}
	}
	s.gateway = startProcess(t, dir, "gateway", []string{"BERTH_GATEWAY_TOKEN=" + s.token},
		"--server", s.api+"/gateway/config", "--kubeconfig", c.Kubeconfig(), "--admin-listen", o.gatewayAdmin, "--access-log", "off",
		"--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1")))
	s.eventually("stable v1 for everyone", map[string]string{}, "v1")
	return s, dir
}

const fixture = `apiVersion: berth.dev/v1
kind: ResourceTier
metadata: {name: small}
spec: {requests: {cpu: 100m, memory: 128Mi}, capacity: "~100 TPS"}
---
apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
---
apiVersion: berth.dev/v1
kind: Environment
metadata: {name: dev, tenant: bank, project: pay}
spec: {cluster: local, namespace: %s}
---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: svc, tenant: bank, project: pay}
spec:
  version:
    name: v1
    image: registry.local/svc:1
    tier: small
    orchestration: {replicas: 2, ports: [{name: http, containerPort: %d}]}
`

const orgCSV = `level,code,name,parent
region,north,North region,
region,south,South region,
branch,0101,Haidian,north
branch,0202,Chaoyang,south
teller,T900,Zhang Wei,0202
`

// checked returns the address of a proxy to the server at url that checks
// every request and response passing through against the OpenAPI document
// the server serves, failing the test on a mismatch: the test's own calls,
// the CLI's and the gateway's go through it. A benchmark talks to the
// server directly, so that what it measures is the server.
func checked(t testing.TB, url string) string {
	t.Helper()
	if _, bench := t.(*testing.B); bench {
		return url
	}
	doc, err := openapicheck.Fetch(t.Context(), http.DefaultClient, url+"/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	return openapicheck.StartProxy(t, doc, url)
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cli runs the berth binary as a user would and returns its output.
func (s *stack) cli(stdin string, args ...string) string {
	s.t.Helper()
	out, err := s.tryIn(stdin, args...)
	if err != nil {
		s.t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// try runs the berth binary and returns its output and error.
func (s *stack) try(args ...string) (string, error) { return s.tryIn("", args...) }

func (s *stack) tryIn(stdin string, args ...string) (string, error) {
	s.phase.Store(strings.Join(args, " "))
	cmd := exec.CommandContext(s.t.Context(), binary, args...)
	cmd.Env = append(os.Environ(), "BERTH_CONFIG="+s.config)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func org(teller, branch, region string) map[string]string {
	return map[string]string{"X-Org-Teller": teller, "X-Org-Branch": branch, "X-Org-Region": region}
}

func freePort(t testing.TB, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serveVersion answers every request with the version's name, with the
// status a request asks for in X-Status, or of this version in
// X-Status-<version> (200 without), after the delay it asks of this version
// in X-Delay-<version> ("400ms"; none without).
func serveVersion(t testing.TB, ip string, port int, version string) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.Header.Get("X-Delay-" + version)); err == nil && d > 0 && d < 10*time.Second {
			time.Sleep(d)
		}
		status := r.Header.Get("X-Status")
		if mine := r.Header.Get("X-Status-" + version); mine != "" {
			status = mine
		}
		if code, err := strconv.Atoi(status); err == nil && code >= 200 && code <= 599 {
			w.WriteHeader(code)
		}
		io.WriteString(w, version)
	}),
		ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// startProcess runs `berth <verb> args...` and returns the http:// address
// it prints ("... on host:port") once it is listening.
func startProcess(t testing.TB, dir, verb string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, append([]string{verb}, args...)...)
	cmd.Env = append(append(os.Environ(), "BERTH_ADMIN_PASSWORD="+adminPassword, "BERTH_CONFIG="+filepath.Join(dir, "config.yaml")), env...)
	logf, err := os.Create(filepath.Join(dir, verb+".log"))
	if err != nil {
		t.Fatal(err)
	}
	out := &lineWatch{found: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = io.MultiWriter(out, logf), logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("berth %s log (tail):\n%s", verb, tail(string(b), 4000))
		}
	})
	select {
	case addr := <-out.found:
		return addr
	case <-time.After(60 * time.Second):
		t.Fatalf("berth %s did not start listening", verb)
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// lineWatch finds the first "on http://a:p" or "on a:p" in the output.
type lineWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	done  bool
}

func (l *lineWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.done {
		return len(p), nil
	}
	for _, line := range strings.Split(l.buf.String(), "\n") {
		_, rest, ok := strings.Cut(line, " on ")
		if !ok {
			continue
		}
		addr, _, _ := strings.Cut(rest, " ")
		addr = strings.TrimPrefix(addr, "http://")
		if _, _, err := net.SplitHostPort(addr); err == nil {
			l.done = true
			l.found <- "http://" + addr
			break
		}
	}
	return len(p), nil
}

func (s *stack) call(method, path string, body any, token string) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/yaml"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.api+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func (s *stack) must(method, path string, body any, want int) []byte {
	s.t.Helper()
	if method != "GET" {
		s.phase.Store(method + " " + path)
	}
	code, data := s.call(method, path, body, s.token)
	if code != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, data)
	}
	return data
}

func (s *stack) login() string {
	s.t.Helper()
	code, data := s.call("POST", "/login", map[string]any{"username": "admin", "password": adminPassword, "token": map[string]string{"name": "gray-e2e"}}, "")
	if code != http.StatusOK {
		s.t.Fatalf("login: %d %s", code, data)
	}
	var r struct{ Token string }
	if err := json.Unmarshal(data, &r); err != nil || r.Token == "" {
		s.t.Fatalf("login answer %s: %v", data, err)
	}
	return r.Token
}

func (s *stack) apply(doc string) {
	s.t.Helper()
	s.must("POST", "/apply", doc, http.StatusOK)
}

// version sends one request through the gateway with headers and returns
// the version that answered, or an error for anything but a 200.
func (s *stack) version(client *http.Client, headers map[string]string) (string, error) {
	req, err := http.NewRequest("GET", s.gateway+"/", nil)
	if err != nil {
		return "", err
	}
	req.Host = s.host
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	return string(b), nil
}

// eventually waits until requests with headers reach want, at most a minute.
func (s *stack) eventually(what string, headers map[string]string, want string) {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	var got string
	var err error
	for time.Now().Before(deadline) {
		if got, err = s.version(http.DefaultClient, headers); err == nil && got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("%s: requests with %v never reached %s (last %q, %v)", what, headers, want, got, err)
}

// eventuallyServing waits until the plan at path records version as
// serving.
func (s *stack) eventuallyServing(path, version string) {
	s.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var p struct {
			Applied struct{ Serving []string } `json:"applied"`
		}
		if err := json.Unmarshal(s.must("GET", path, nil, http.StatusOK), &p); err == nil && slices.Contains(p.Applied.Serving, version) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("plan %s never had %s serving", path, version)
}

// expect checks, over 50 requests each, that every named cohort reaches the
// version wanted of it. cohorts are given in the order of want's keys:
// teller, branch, region, other (only those named).
func (s *stack) expect(want map[string]string, cohorts ...map[string]string) {
	s.t.Helper()
	names := []string{"teller", "branch", "region", "other"}
	i := 0
	for _, name := range names {
		v, ok := want[name]
		if !ok {
			continue
		}
		for range 50 {
			got, err := s.version(http.DefaultClient, cohorts[i])
			if err != nil || got != v {
				cfg := s.must("GET", "/gateway/config", nil, http.StatusOK)
				plans := s.must("GET", "/tenants/bank/projects/pay/environments/dev/grayplans", nil, http.StatusOK)
				s.t.Fatalf("cohort %s %v: got %q (%v), want %s\ngateway configuration: %s\nplans: %s", name, cohorts[i], got, err, v, cfg, plans)
			}
		}
		i++
	}
}

// eventuallyWeighted waits for gray traffic to appear, then checks that of
// 2000 requests outside every cohort the share reaching v2 is p within five
// standard deviations.
func (s *stack) eventuallyWeighted(headers map[string]string, p float64) {
	s.t.Helper()
	s.eventually("weighted gray appears", headers, "v2")
	const n = 2000
	gray := 0
	for range n {
		got, err := s.version(http.DefaultClient, headers)
		if err != nil {
			s.t.Fatal(err)
		}
		if got == "v2" {
			gray++
		}
	}
	share, sd := float64(gray)/n, math.Sqrt(p*(1-p)/n)
	if math.Abs(share-p) > 5*sd {
		s.t.Fatalf("weighted gray: %.3f of %d requests, want %.2f ± %.3f", share, n, p, 5*sd)
	}
	s.t.Logf("weighted gray: %.3f of %d requests (want %.2f ± %.3f)", share, n, p, 5*sd)
}

// steadyLoad sends requests with varying org headers through the gateway
// until the returned function is called, which reports how many were sent
// and how many failed (transport error or a status other than 200).
func (s *stack) steadyLoad() func() (sent, failed int64) {
	var n, bad atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: 10 * time.Second}
	cohorts := []map[string]string{org("T900", "0202", "south"), org("T001", "0101", "south"), org("T002", "0303", "north"), org("T003", "0404", "south"), {}}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i++ {
				_, err := s.version(client, cohorts[i%len(cohorts)])
				n.Add(1)
				if err != nil && ctx.Err() == nil {
					bad.Add(1)
					s.t.Logf("%s steady load after %v: %v", time.Now().UTC().Format("15:04:05.000"), s.phase.Load(), err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
	s.t.Cleanup(stop)
	return func() (int64, int64) {
		stop()
		return n.Load(), bad.Load()
	}
}
