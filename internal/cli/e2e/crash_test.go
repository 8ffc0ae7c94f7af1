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
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
)

// process is `berth server` running as a real process, killed with SIGKILL
// and started again over the same data directory (or PostgreSQL schema)
// and port.
type process struct {
	t       *testing.T
	bin     string
	args    []string
	env     []string
	log     *os.File
	cmd     *exec.Cmd
	url     string
	dataDir string
	// database is the server's --database: a PostgreSQL URL, or "" for
	// SQLite under dataDir.
	database string
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

// stored reads order id of bank/pay from the database of the killed
// server: what the server had committed when it died.
func (p *process) stored(id string) release.Order {
	p.t.Helper()
	st, err := store.Open(p.t.Context(), p.dataDir, p.database)
	if err != nil {
		p.t.Fatalf("open the killed server's database: %v", err)
	}
	defer st.Close()
	var o release.Order
	err = st.InTx(p.t.Context(), func(tx platform.Tx) error {
		o, err = tx.GetOrder(p.t.Context(), "bank", "pay", id)
		return err
	})
	if err != nil {
		p.t.Fatalf("read order %s from the killed server's database: %v", id, err)
	}
	return o
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

// crashSeedEnv replays a run of the kill test: its kill moments come from
// this seed, which every run logs.
const crashSeedEnv = "BERTH_CRASH_SEED"

// crashSeed returns the seed of this run: BERTH_CRASH_SEED when set, else a
// random one.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	v := os.Getenv(crashSeedEnv)
	if v == "" {
		return rand.Uint64()
	}
	seed, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want an unsigned integer (the seed a run logged)", crashSeedEnv, v)
	}
	return seed
}

// TestKillingTheServerDuringOrdersAlwaysEndsConsistent kills the server
// process with SIGKILL at random moments while release orders run, on
// SQLite and on PostgreSQL, and starts it again each time. Every order must
// still end as it would have without the kills: the good one Succeeded with
// every service on its new version, the one with a crash-looping version
// RolledBack with every started service on the version it ran before and
// the rest cancelled; every item that started recorded as its "before" the
// version that ran before the order (never one the order itself applied);
// and the audit chain verifies. Kills must have landed while the orders
// went forward and while the failed one rolled back, read from what the
// killed server had committed.
func TestKillingTheServerDuringOrdersAlwaysEndsConsistent(t *testing.T) {
	c := clustertest.Start(t)
	bin := buildBerth(t)
	seed := crashSeed(t)
	t.Logf("kill moments from seed %d; replay with %s=%d", seed, crashSeedEnv, seed)
	t.Run("sqlite", func(t *testing.T) { killDuringOrders(t, c, bin, "", seed) })
	t.Run("postgres", func(t *testing.T) { killDuringOrders(t, c, bin, storetest.PostgresSchema(t), seed) })
}

// killDuringOrders runs the kill test against one server whose database is
// database ("" for SQLite).
func killDuringOrders(t *testing.T, c *clustertest.Cluster, bin, database string, seed uint64) {
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	addr := freeAddr(t)
	args := []string{"server", "--data-dir", filepath.Join(dir, "data"), "--listen", addr, "--kubeconfig", c.Kubeconfig()}
	if database != "" {
		args = append(args, "--database", database)
	}
	srv := &process{t: t, bin: bin, log: logFile, url: "http://" + addr, args: args,
		dataDir: filepath.Join(dir, "data"), database: database,
		env: append(os.Environ(), "BERTH_ADMIN_PASSWORD="+adminPassword)}
	srv.start()
	t.Cleanup(srv.kill)

	vars := map[string]string{"BERTH_CONFIG": filepath.Join(dir, "config.yaml")}
	b := berth{t: t, getenv: func(k string) string { return vars[k] }}
	ns := fmt.Sprintf("bank-pay-kill-%d", time.Now().UnixNano()%100000)
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	b.must(adminPassword+"\n", []string{"login", "--server", checked(t, srv.url), "--username", "admin", "--password-stdin"}, "Logged in")
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

	rng := rand.New(rand.NewPCG(seed, 7))
	good, kills := runKilled(t, b, srv, rng, stagesOf(apps, "v2", ""))
	if good.State != "Succeeded" {
		t.Fatalf("good order ended %s, failure %+v: %+v", good.State, good.Failure, good.Items)
	}
	if kills.forward == 0 {
		t.Fatalf("no kill landed while the good order ran (%+v); the test proved nothing", kills)
	}
	checkItems(t, good, "v1", map[string]string{"s1": "Succeeded", "s2": "Succeeded", "s3": "Succeeded",
		"s4": "Succeeded", "s5": "Succeeded", "s6": "Succeeded"})
	for _, app := range apps {
		runs(t, c, ns, app, "v2")
	}

	bad, kills := runKilled(t, b, srv, rng, stagesOf(apps, "v3", "s4"))
	if bad.State != "RolledBack" || bad.Failure == nil || bad.Failure.Item != "s4" {
		t.Fatalf("crash order ended %s, failure %+v", bad.State, bad.Failure)
	}
	if kills.forward == 0 || kills.rollback == 0 {
		t.Fatalf("kills landed %d times while the crash order went forward and %d times while it rolled back; "+
			"both must be hit", kills.forward, kills.rollback)
	}
	// Stage 3 waits for s4, which never becomes ready: s5 and s6 never start.
	checkItems(t, bad, "v2", map[string]string{"s1": "RolledBack", "s2": "RolledBack", "s3": "RolledBack",
		"s4": "RolledBack", "s5": "Cancelled", "s6": "Cancelled"})
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

// landed counts the kills by what the killed server had committed: the
// order going forward (Running) or rolling back (Failed, RollingBack).
type landed struct{ forward, rollback, other int }

// Kills an order may take in each phase; then it is left to finish. (A
// server killed every second never gets anywhere, and then the order
// rightly runs into its deadline.)
const maxForwardKills, maxRollbackKills = 4, 3

// runKilled creates and starts an order, kills the server at random moments
// until the order ends, and returns the order as it ended and where the
// kills landed.
func runKilled(t *testing.T, b berth, srv *process, rng *rand.Rand, stages []string) (apitypes.OrderView, landed) {
	t.Helper()
	out := b.must("", append([]string{"release", "create", "--env", "dev", "--title", "killed", "--deadline", "90s"}, stages...), "created")
	id := orderID.FindString(out)
	b.must("", []string{"release", "start", id}, "Running")
	var kills landed
	deadline := time.Now().Add(4 * time.Minute)
	for {
		o, ok := getOrder(b, id)
		if ok && (o.State == "Succeeded" || o.State == "RolledBack") {
			t.Logf("order %s ended %s; kills landed going forward %d, rolling back %d, elsewhere %d",
				id, o.State, kills.forward, kills.rollback, kills.other)
			return o, kills
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s did not end: %s %+v", id, o.State, o.Items)
		}
		var wait time.Duration
		switch {
		case ok && o.State == "Running" && kills.forward < maxForwardKills:
			wait = time.Duration(50+rng.IntN(600)) * time.Millisecond
		case ok && (o.State == "Failed" || o.State == "RollingBack") && kills.rollback < maxRollbackKills:
			// A rollback takes a few engine passes: kill soon.
			wait = time.Duration(rng.IntN(300)) * time.Millisecond
		default:
			time.Sleep(100 * time.Millisecond) // poll until it ends
			continue
		}
		time.Sleep(wait)
		srv.kill()
		switch st := srv.stored(id).State; st {
		case "Running":
			kills.forward++
		case "Failed", "RollingBack":
			kills.rollback++
		default:
			kills.other++
		}
		srv.start()
	}
}

func getOrder(b berth, id string) (apitypes.OrderView, bool) {
	var o apitypes.OrderView
	out, err := b.run("", "release", "status", id, "-o", "json")
	if err != nil {
		return o, false
	}
	return o, json.Unmarshal([]byte(out), &o) == nil
}

// checkItems fails unless each item ended in the state states names, and
// recorded as "before" the version that ran before the order when it
// started (nothing when it never did).
func checkItems(t *testing.T, o apitypes.OrderView, before string, states map[string]string) {
	t.Helper()
	if len(o.Items) != len(states) {
		t.Errorf("order has %d items, want %d: %+v", len(o.Items), len(states), o.Items)
	}
	for _, it := range o.Items {
		if string(it.State) != states[it.Application] {
			t.Errorf("%s ended %s, want %s", it.Application, it.State, states[it.Application])
		}
		started := it.State != "Pending" && it.State != "Cancelled"
		switch {
		case started && it.Before == nil:
			t.Errorf("%s started (%s) but recorded nothing as running before the order", it.Application, it.State)
		case started && it.Before.Version != before:
			t.Errorf("%s recorded %s as running before the order, want %s", it.Application, it.Before.Version, before)
		case !started && it.Before != nil:
			t.Errorf("%s never started (%s) but recorded %+v as running before", it.Application, it.State, *it.Before)
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
