package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/cli/releasecmd"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
)

// process is `berth server` running as a real process, killed with SIGKILL
// and started again over the same data directory and port.
type process struct {
	t    *testing.T
	bin  string
	args []string
	env  []string
	log  *os.File
	cmd  *exec.Cmd
	url  string
}

func (p *process) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.env, p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("server not ready after restart: %v (log %s)", err, p.log.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no deferred function, no graceful shutdown runs.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

func buildBerth(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berth")
	out, err := exec.Command("go", "build", "-o", bin, "berth.dev/berth/cmd/berth").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestKillingTheServerDuringOrdersAlwaysEndsConsistent kills the server
// process with SIGKILL at random moments while release orders run and
// starts it again each time. Every order must still end as it would have
// without the kills: the good one Succeeded with every service on its new
// version, the one with a crash-looping version RolledBack with every
// service on the version it ran before; each item's "before" is the version
// that ran before the order (never one the order itself applied); and the
// audit chain verifies.
func TestKillingTheServerDuringOrdersAlwaysEndsConsistent(t *testing.T) {
	c := clustertest.Start(t)
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	addr := freeAddr(t)
	srv := &process{t: t, bin: buildBerth(t), log: logFile, url: "http://" + addr,
		args: []string{"server", "--data-dir", filepath.Join(dir, "data"), "--listen", addr, "--kubeconfig", c.Kubeconfig()},
		env:  append(os.Environ(), "BERTH_ADMIN_PASSWORD="+adminPassword)}
	srv.start()
	t.Cleanup(srv.kill)

	vars := map[string]string{"BERTH_CONFIG": filepath.Join(dir, "config.yaml")}
	b := berth{t: t, getenv: func(k string) string { return vars[k] }}
	ns := fmt.Sprintf("bank-pay-kill-%d", time.Now().UnixNano()%100000)
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	b.must(adminPassword+"\n", []string{"login", "--server", srv.url, "--username", "admin", "--password-stdin"}, "Logged in")
	apps := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	file := filepath.Join(dir, "bank.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(manifest, "namespace: bank-pay-dev", "namespace: "+ns, 1)+releaseApps(apps...)), 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"apply", "-f", file})
	b.must("", []string{"context", "set", "-t", "bank", "-p", "pay"})
	for _, app := range apps {
		for _, v := range []struct{ name, simulate string }{{"v2", ""}, {"v3", ""}, {"v3-crash", "crash-loop"}} {
			b.must("", []string{"apply", "-f", versionFile(t, dir, app, v.name, v.simulate)})
		}
		b.must("", []string{"app", "deploy", app, "v1", "--env", "dev"})
	}
	for _, app := range apps {
		runs(t, c, ns, app, "v1")
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	good := runKilled(t, b, srv, rng, stagesOf(apps, "v2", ""))
	if good.State != "Succeeded" {
		t.Fatalf("good order ended %s, failure %+v: %+v", good.State, good.Failure, good.Items)
	}
	checkBefore(t, good, "v1")
	for _, app := range apps {
		runs(t, c, ns, app, "v2")
	}

	bad := runKilled(t, b, srv, rng, stagesOf(apps, "v3", "s4"))
	if bad.State != "RolledBack" || bad.Failure == nil || bad.Failure.Item != "s4" {
		t.Fatalf("crash order ended %s, failure %+v", bad.State, bad.Failure)
	}
	checkBefore(t, bad, "v2")
	for _, app := range apps {
		runs(t, c, ns, app, "v2")
	}
	b.must("", []string{"audit", "verify"}, "OK")
}

// stagesOf is three stages of two applications each, to version, with
// crash (if not "") on its crash-looping variant.
func stagesOf(apps []string, version, crash string) []string {
	var args []string
	for i := 0; i < len(apps); i += 2 {
		var pairs []string
		for _, app := range apps[i : i+2] {
			v := version
			if app == crash {
				v += "-crash"
			}
			pairs = append(pairs, app+"="+v)
		}
		args = append(args, "--stage", strings.Join(pairs, ","))
	}
	return args
}

// runKilled creates and starts an order, kills the server at random moments
// until the order ends, and returns the order as it ended.
func runKilled(t *testing.T, b berth, srv *process, rng *rand.Rand, stages []string) releasecmd.Order {
	t.Helper()
	out := b.must("", append([]string{"release", "create", "--env", "dev", "--title", "killed", "--deadline", "90s"}, stages...), "created")
	id := orderID.FindString(out)
	b.must("", []string{"release", "start", id}, "Running")
	kills := 0
	deadline := time.Now().Add(4 * time.Minute)
	for {
		// Kill at a random moment, up to five times an order; then let
		// it finish. (A server killed every second never gets anywhere,
		// and then the order rightly runs into its deadline.)
		wait := time.Duration(50+rng.IntN(600)) * time.Millisecond
		if kills >= 5 {
			wait = time.Second
		}
		time.Sleep(wait)
		if o, ok := getOrder(b, id); ok && (o.State == "Succeeded" || o.State == "RolledBack") {
			t.Logf("order %s ended %s after %d kills", id, o.State, kills)
			if kills == 0 {
				t.Fatalf("the order ended before the server was killed once; the test proved nothing")
			}
			return o
		}
		if time.Now().After(deadline) {
			o, _ := getOrder(b, id)
			t.Fatalf("order %s did not end: %s %+v", id, o.State, o.Items)
		}
		if kills < 5 {
			srv.kill()
			kills++
			srv.start()
		}
	}
}

func getOrder(b berth, id string) (releasecmd.Order, bool) {
	var o releasecmd.Order
	out, err := b.run("", "release", "status", id, "-o", "json")
	if err != nil {
		return o, false
	}
	return o, json.Unmarshal([]byte(out), &o) == nil
}

func checkBefore(t *testing.T, o releasecmd.Order, want string) {
	t.Helper()
	for _, it := range o.Items {
		if it.Before != nil && it.Before.Version != want {
			t.Errorf("%s recorded %s as running before the order, want %s", it.Application, it.Before.Version, want)
		}
	}
}

// runs waits until the cluster runs only version of app, every pod ready.
func runs(t *testing.T, c *clustertest.Cluster, ns, app, version string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), app, metav1.GetOptions{})
		if err == nil && d.Spec.Template.Labels[kube.LabelVersion] == version && d.Status.ObservedGeneration == d.Generation &&
			d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.ReadyReplicas == *d.Spec.Replicas && d.Status.Replicas == *d.Spec.Replicas {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never ran only %s: %v", app, version, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
