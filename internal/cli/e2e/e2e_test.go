package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/appcmd"
	"berth.dev/berth/internal/cli/applycmd"
	"berth.dev/berth/internal/cli/auditcmd"
	"berth.dev/berth/internal/cli/configcmd"
	"berth.dev/berth/internal/cli/contextcmd"
	"berth.dev/berth/internal/cli/deletecmd"
	"berth.dev/berth/internal/cli/describecmd"
	"berth.dev/berth/internal/cli/floorcmd"
	"berth.dev/berth/internal/cli/getcmd"
	"berth.dev/berth/internal/cli/grantcmd"
	"berth.dev/berth/internal/cli/graycmd"
	"berth.dev/berth/internal/cli/logincmd"
	"berth.dev/berth/internal/cli/logscmd"
	"berth.dev/berth/internal/cli/metricscmd"
	"berth.dev/berth/internal/cli/netcmd"
	"berth.dev/berth/internal/cli/pipelinecmd"
	"berth.dev/berth/internal/cli/releasecmd"
	"berth.dev/berth/internal/cli/servercmd"
	"berth.dev/berth/internal/cli/storecmd"
	"berth.dev/berth/internal/cli/tokencmd"
	"berth.dev/berth/internal/cli/usercmd"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/logtest"
	"berth.dev/berth/internal/openapicheck"
	"berth.dev/berth/internal/store"
)

const adminPassword = "first-admin-password"

// berth runs the CLI's command tree as cmd/berth does.
type berth struct {
	t      *testing.T
	getenv func(string) string
}

func (b berth) run(stdin string, args ...string) (string, error) {
	b.t.Helper()
	var out bytes.Buffer
	err := b.runTo(b.t.Context(), &out, stdin, args...)
	return out.String(), err
}

// runTo runs args until ctx ends, writing output to out.
func (b berth) runTo(ctx context.Context, out io.Writer, stdin string, args ...string) error {
	env := cli.Env{Stdin: strings.NewReader(stdin), Stdout: out, Stderr: out, Getenv: b.getenv}
	root := &cobra.Command{Use: "berth", SilenceUsage: true, SilenceErrors: true}
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(out)
	root.AddCommand(appcmd.New(env), logincmd.New(env), contextcmd.New(env), getcmd.New(env), describecmd.New(env),
		deletecmd.New(env), applycmd.New(env), auditcmd.New(env), tokencmd.New(env), usercmd.New(env), releasecmd.New(env),
		netcmd.New(env), grantcmd.New(env), floorcmd.New(env), configcmd.New(env), logscmd.New(env), metricscmd.New(env), pipelinecmd.New(env),
		storecmd.New(env), graycmd.New(env))
	return root.ExecuteContext(ctx)
}

// must runs args and fails the test on error or when the output lacks any
// of wants.
func (b berth) must(stdin string, args []string, wants ...string) string {
	b.t.Helper()
	out, err := b.run(stdin, args...)
	if err != nil {
		b.t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			b.t.Fatalf("berth %s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	return out
}

const manifest = `apiVersion: berth.dev/v1
kind: ResourceTier
metadata: {name: small}
spec: {requests: {cpu: 500m, memory: 512Mi}, capacity: "~300 TPS"}
---
apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
spec: {displayName: Retail bank}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
---
apiVersion: berth.dev/v1
kind: Environment
metadata: {name: dev, tenant: bank, project: pay}
spec: {cluster: local, namespace: bank-pay-dev}
---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: red-auth, tenant: bank, project: pay}
spec:
  version:
    name: v1
    image: registry.local/red-auth:1.0
    tier: small
    orchestration: {replicas: 2, ports: [{name: http, containerPort: 8080}]}
`

func TestNewUserFlow(t *testing.T) {
	dir := t.TempDir()
	// A real cluster: Berth checks an environment's namespace on it.
	kubeconfig := clustertest.Start(t).Kubeconfig()
	vars := map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword, "BERTH_CONFIG": filepath.Join(dir, "config.yaml")}
	getenv := func(k string) string { return vars[k] }
	url := startServer(t, dir, kubeconfig, getenv)
	b := berth{t: t, getenv: getenv}

	b.must(adminPassword+"\n", []string{"login", "--server", url, "--username", "admin", "--password-stdin", "--context", "local"}, "Logged in")
	b.must("", []string{"context", "list"}, "*         local")

	manifestFile := filepath.Join(dir, "bank.yaml")
	if err := os.WriteFile(manifestFile, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"apply", "-f", manifestFile}, "Tenant/bank", "Environment/dev", "Application/red-auth   created")
	b.must("", []string{"get", "tenants"}, "bank   Retail bank")
	b.must("", []string{"get", "projects", "-t", "bank"}, "pay")
	b.must("", []string{"context", "set", "-t", "bank", "-p", "pay"})
	b.must("", []string{"get", "environments"}, "dev", "local", "bank-pay-dev")
	b.must("", []string{"get", "apps"}, "red-auth", "v1")
	b.must("", []string{"get", "versions", "--app", "red-auth", "-o", "json"}, `"image": "registry.local/red-auth:1.0"`)
	b.must("", []string{"describe", "app", "red-auth"}, "currentVersion: v1")
	b.must("", []string{"get", "quota", "-t", "bank", "-p", ""}, "containers")

	// A second version from standard input, and a bad document refused whole.
	b.must(strings.Replace(manifest, "name: v1", "name: v2", 1), []string{"apply", "-f", "-"}, "Application/red-auth   updated")
	out, err := b.run(strings.Replace(manifest, "replicas: 2", "replicass: 2", 1), "apply", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "document 5 (Application red-auth): spec.version.orchestration.replicass: unknown field") {
		t.Fatalf("apply with a typo: %v\n%s", err, out)
	}

	b.must("", []string{"audit", "list"}, "tenant.create", "environment.create", "version.create")
	if out := b.must("", []string{"audit", "list", "--tenant", "bank", "--project", "pay"}, "project.create", "version.create"); strings.Contains(out, "tenant.create") {
		t.Errorf("audit list --project pay shows tenant-level records:\n%s", out)
	}
	jsonl := b.must("", []string{"audit", "list", "-o", "jsonl", "--action", "user.login"}, `"action":"user.login"`)
	if strings.Count(jsonl, "\n") != 1 {
		t.Errorf("one login, want one user.login record:\n%s", jsonl)
	}
	b.must("", []string{"audit", "list", "-o", "csv", "--tenant", "bank"}, "seq,time,actor", "created tenant bank")
	b.must("", []string{"audit", "verify"}, "OK:")

	// Namespace grants and approval floors from the CLI.
	b.must("", []string{"grant", "set", "--cluster", "local", "-t", "bank", "--prefix", "bank-", "--namespace", "legacy-pay"},
		"Tenant bank may use on cluster local: bank-*, legacy-pay")
	b.must("", []string{"grant", "list", "-t", "bank"}, "local", "bank-*, legacy-pay")
	b.must("", []string{"approval-floor", "set", "-t", "bank", "--env", "prod=2"}, "Floor: default 0, prod 2")
	b.must("", []string{"approval-floor", "set", "-t", "bank", "--env", "prod=1"}, "Floor: default 0, prod 2", "Pending (proposed by admin")
	if out, err := b.run("", "approval-floor", "approve", "-t", "bank"); err == nil || !strings.Contains(err.Error(), "four eyes") {
		t.Errorf("the proposer approved its own lowering: %v\n%s", err, out)
	}
	b.must("", []string{"approval-floor", "withdraw", "-t", "bank"}, "Floor: default 0, prod 2")
	b.must("", []string{"grant", "revoke", "--cluster", "local", "-t", "bank"}, "revoked")

	b.must("", []string{"token", "create", "ci", "--ttl", "24h"}, "berth_t_")
	tokens := b.must("", []string{"token", "list", "-o", "json"}, `"name": "ci"`)
	var list []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(tokens), &list); err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, tok := range list {
		if tok.Name == "ci" {
			id = tok.ID
		}
	}
	b.must("", []string{"token", "revoke", id}, "revoked")
	b.must("", []string{"delete", "environment", "dev"}, "deleted")

	// The admin brings in a developer of tenant bank, who sees bank only.
	b.must("dev-password-123\n", []string{"user", "create", "dev", "--password-stdin"}, "User dev created")
	b.must("apiVersion: berth.dev/v1\nkind: Member\nmetadata: {tenant: bank}\nspec: {user: dev, role: developer}\n"+
		"---\napiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: shop}\n", []string{"apply", "-f", "-"}, "Member/dev:developer   created")
	b.must("dev-password-123\n", []string{"login", "--server", url, "--username", "dev", "--password-stdin", "--context", "dev"}, "Logged in")
	b.must("dev-password-123\nnew-dev-password-456\n", []string{"user", "passwd", "--password-stdin"}, "Password of dev changed")
	if out := b.must("", []string{"get", "tenants"}, "bank"); strings.Contains(out, "shop") {
		t.Errorf("a developer of bank sees tenant shop:\n%s", out)
	}
	if out, err := b.run("", "get", "projects", "-t", "shop"); err == nil || !strings.Contains(err.Error(), "You do not have permission") {
		t.Errorf("a developer of bank lists shop's projects: %v\n%s", err, out)
	}
	if out, err := b.run("", "audit", "verify"); err == nil {
		t.Errorf("a developer verifies the audit chain:\n%s", out)
	}
	b.must("", []string{"context", "use", "local"}, "Switched")

	// Someone edits a record in the database: verify names it and fails.
	tamper(t, filepath.Join(dir, "data", store.SQLiteFile), "UPDATE audit_records SET summary = 'nothing happened' WHERE seq = 5")
	out, err = b.run("", "audit", "verify")
	if err == nil || !strings.Contains(out, "BROKEN: record 5 altered") {
		t.Fatalf("verify after tampering: err %v, output:\n%s", err, out)
	}
}

func tamper(t *testing.T, path, stmt string) {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB().ExecContext(t.Context(), stmt); err != nil {
		t.Fatal(err)
	}
}

// checked returns the address of a proxy to the server at url that checks
// every request and response passing through against the OpenAPI document
// the server serves, failing the test on a mismatch. The CLI talks to the
// server through it.
func checked(t *testing.T, url string) string {
	t.Helper()
	doc, err := openapicheck.Fetch(t.Context(), http.DefaultClient, url+"/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	return openapicheck.StartProxy(t, doc, url)
}

// serverURLs maps the checked proxy of each server started to the
// server's own address, for what is not in the API document (/metrics).
var serverURLs sync.Map

// startServer runs `berth server` in-process on a loopback port and waits
// until it is ready; the address returned is that of a [checked] proxy.
func startServer(t *testing.T, dir, kubeconfig string, getenv func(string) string) string {
	t.Helper()
	url, _ := startServerOut(t, dir, kubeconfig, getenv, io.Discard)
	return url
}

// startServerOut is startServer with the server's standard output given;
// the returned stop ends the server and waits for it. The address returned
// is that of a [checked] proxy.
func startServerOut(t *testing.T, dir, kubeconfig string, getenv func(string) string, stdout io.Writer) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Kubeconfig, cfg.Listen = filepath.Join(dir, "data"), kubeconfig, ln.Addr().String()
	cfg.NacosGRPC = getenv("BERTH_NACOS_GRPC")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var serveErr error
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: io.Discard, Getenv: getenv}
	go func() {
		defer close(done)
		serveErr = servercmd.Serve(ctx, cfg, env, slog.New(slog.NewTextHandler(io.Discard, nil)), ln)
	}()
	stop := func() {
		cancel()
		<-done
		if serveErr != nil {
			t.Errorf("server: %v", serveErr)
		}
	}
	t.Cleanup(stop)
	url := "http://" + ln.Addr().String()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(t.Context(), "GET", url+"/readyz", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c := checked(t, url)
				serverURLs.Store(c, url)
				return c, stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30s: %v", err)
		}
		select {
		case <-done:
			t.Fatalf("server exited: %v", serveErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestRestartKeepsTheAdminAndTheLocalCluster(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"BERTH_CONFIG": filepath.Join(dir, "config.yaml")} // no BERTH_ADMIN_PASSWORD
	getenv := func(k string) string { return vars[k] }
	var first, second logtest.Buffer
	_, stop := startServerOut(t, dir, kubeconfig, getenv, &first)
	stop()
	password := between(first.String(), "Created user admin with password ", "\n")
	if password == "" {
		t.Fatalf("first start printed no admin password:\n%s", first.String())
	}
	url, _ := startServerOut(t, dir, kubeconfig, getenv, &second)
	if strings.Contains(second.String(), "password") {
		t.Errorf("second start printed a password again:\n%s", second.String())
	}
	b := berth{t: t, getenv: getenv}
	b.must(password+"\n", []string{"login", "--server", url, "--username", "admin", "--password-stdin"}, "Logged in")
	if out := b.must("", []string{"get", "clusters", "-o", "json"}, `"name": "local"`); strings.Count(out, `"name": "local"`) != 1 {
		t.Errorf("clusters after a restart:\n%s", out)
	}
	// The list says whether Berth reaches each cluster: this one's
	// kubeconfig names no server.
	if out := b.must("", []string{"get", "clusters"}, "local"); !strings.Contains(out, "STATUS") || !strings.Contains(out, "Unknown") {
		t.Errorf("cluster list without the cluster's status:\n%s", out)
	}
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}
