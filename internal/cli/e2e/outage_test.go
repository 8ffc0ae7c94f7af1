package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/store/pgtest"
)

// outageLease is the lease of the server in TestPostgreSQLStoppingMidOrder:
// long enough that a stop and start of PostgreSQL fits in 4/5 of it, short
// enough that a longer outage ends the term within seconds.
const outageLease = 20 * time.Second

// TestPostgreSQLStoppingMidOrder runs a server on a PostgreSQL of its own
// (pgtest: the shared test server is never stopped) and the local
// cluster, and stops PostgreSQL immediately (pg_ctl stop -m immediate)
// while a release order goes forward. While it is down the API answers
// 503 with the database's message and /readyz is not ready, naming the
// database. A short outage keeps the term: PostgreSQL comes back, the same
// term resumes the order, and it ends Succeeded with the right "before"
// versions. A second order, with a crash-looping version, is caught by an
// outage longer than the lease: the term ends, the server still answers
// 503, and stops once PostgreSQL is back; started again (as its supervisor
// would), it takes its lease back and the order ends RolledBack with the
// versions that ran before it. The audit chain verifies.
func TestPostgreSQLStoppingMidOrder(t *testing.T) {
	apps := []string{"s1", "s2", "s3", "s4"}
	c := clustertest.Start(t)
	bin := buildBerth(t)
	pg := pgtest.Start(t)
	dir := t.TempDir()
	srv := outageServer(t, c, bin, dir, pg.URL())
	b := cliOn(t, srv, dir, "outage")
	ns := fmt.Sprintf("bank-pay-out-%d", time.Now().UnixNano()%100000)
	haFixture(t, c, b, dir, ns, apps)
	for _, app := range apps {
		runs(t, c, ns, app, "v1")
	}

	// A short outage: the leader keeps its term.
	id := startedOrder(t, b, stagesOf(apps, "v2", ""))
	pg.Stop()
	databaseDown(t, b, srv, id)
	pg.Start()
	good := ended(t, b, id)
	if good.State != "Succeeded" {
		t.Fatalf("order ended %s, failure %+v: %+v", good.State, good.Failure, good.Items)
	}
	checkItems(t, good, "v1", map[string]string{"s1": "Succeeded", "s2": "Succeeded", "s3": "Succeeded", "s4": "Succeeded"})
	for _, app := range apps {
		runs(t, c, ns, app, "v2")
	}
	if got := metric(t, srv, "berth_leader_transitions_total"); got != "1" {
		t.Errorf("berth_leader_transitions_total after a short outage = %s, want 1 (the term kept)", got)
	}

	// An outage longer than the lease: the term ends, not the server.
	id = startedOrder(t, b, stagesOf(apps, "v3", "s2"))
	pg.Stop()
	databaseDown(t, b, srv, id)
	exited := make(chan error, 1)
	go func() { exited <- srv.cmd.Wait() }()
	for metric(t, srv, "berth_leader") != "0" {
		select {
		case err := <-exited:
			t.Fatalf("the server stopped while PostgreSQL was down (%v): nothing answers its clients", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	databaseDown(t, b, srv, id)
	pg.Start()
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("PostgreSQL is back and the server whose term ended goes on without controllers")
	}
	srv.start()
	leaderOf(t, []*process{srv}, time.Minute) // its own lease back, under a new epoch
	bad := ended(t, b, id)
	if bad.State != "RolledBack" || bad.Failure == nil || bad.Failure.Item != "s2" {
		t.Fatalf("crash order ended %s, failure %+v: %+v", bad.State, bad.Failure, bad.Items)
	}
	checkItems(t, bad, "v2", map[string]string{"s1": "RolledBack", "s2": "RolledBack", "s3": "Cancelled", "s4": "Cancelled"})
	for _, app := range apps {
		runs(t, c, ns, app, "v2")
	}
	b.must("", []string{"audit", "verify"}, "OK")
}

// outageServer starts one server on database, electing itself with a
// lease of outageLease.
func outageServer(t *testing.T, c *clustertest.Cluster, bin, dir, database string) *process {
	t.Helper()
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	addr := freeAddr(t)
	data := filepath.Join(dir, "data")
	p := &process{t: t, bin: bin, log: logFile, url: "http://" + addr, dataDir: data, database: database,
		args: []string{"server", "--data-dir", data, "--listen", addr, "--kubeconfig", c.Kubeconfig(),
			"--database", database, "--nacos-grpc", "off",
			"--leader-election", "postgres", "--lease-duration", outageLease.String()},
		env: append(os.Environ(), "BERTH_ADMIN_PASSWORD="+adminPassword)}
	p.start()
	t.Cleanup(p.kill)
	return p
}

// startedOrder creates and starts an order and waits until it runs with
// an item started.
func startedOrder(t *testing.T, b berth, stages []string) string {
	t.Helper()
	out := b.must("", append([]string{"release", "create", "--env", "dev", "--title", "outage", "--deadline", "5m"}, stages...), "created")
	id := orderID.FindString(out)
	b.must("", []string{"release", "start", id}, "Running")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		o, ok := getOrder(b, id)
		if ok && o.State == "Running" && started(o) {
			return id
		}
		if ok && (o.State == "Succeeded" || o.State == "RolledBack") || time.Now().After(deadline) {
			t.Fatalf("order %s never ran with an item started: %s %+v", id, o.State, o.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// databaseDown checks what clients see while PostgreSQL is down: the CLI
// gets the database's message, the API 503 database_unavailable in the
// caller's language, /readyz not ready naming the database.
func databaseDown(t *testing.T, b berth, srv *process, id string) {
	t.Helper()
	if out, err := b.run("", "release", "status", id); err == nil || !strings.Contains(err.Error()+out, "database is not answering") {
		t.Errorf("berth release status with PostgreSQL down: %v %s; want the database's message", err, out)
	}
	req, err := http.NewRequest(http.MethodGet, srv.url+"/api/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Language", "zh-CN")
	req.Header.Set("Authorization", "Bearer berth_t_0123456789abcdef0123456789abcdef")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e apitypes.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || e.Code != "database_unavailable" || !strings.Contains(e.Message, "数据库暂无响应") {
		t.Errorf("GET /api/v1/whoami (zh-CN) with PostgreSQL down: %d %+v, want 503 database_unavailable in Chinese", resp.StatusCode, e)
	}
	resp, err = http.Get(srv.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status string
		Checks []struct{ Name, Error string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || len(ready.Checks) == 0 || !strings.Contains(fmt.Sprint(ready.Checks), "database does not answer") {
		t.Errorf("/readyz with PostgreSQL down: %d %+v, want 503 naming the database", resp.StatusCode, ready)
	}
}

// ended waits until order id ends.
func ended(t *testing.T, b berth, id string) apitypes.OrderView {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		o, ok := getOrder(b, id)
		if ok && (o.State == "Succeeded" || o.State == "RolledBack") {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s did not end: %s %+v", id, o.State, o.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
