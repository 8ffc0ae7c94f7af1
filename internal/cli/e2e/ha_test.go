package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/store/storetest"
)

// haLease is the replicas' lease in these tests: short, so that a killed
// leader is replaced quickly.
const haLease = 3 * time.Second

// replicaSet is n `berth server` processes on one PostgreSQL database (a
// fresh schema: its notifications have a channel of their own) and one
// seal key, each with a data directory of its own and the cluster of
// kubeconfig, electing their leader with a lease row unless election says
// otherwise (flags).
func replicaSet(t *testing.T, kubeconfig, bin string, n int, election ...string) []*process {
	t.Helper()
	database := storetest.PostgresSchema(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "seal.key")
	var out []*process
	for i := range n {
		logFile, err := os.Create(filepath.Join(dir, fmt.Sprintf("server-%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logFile.Close() })
		addr := freeAddr(t)
		data := filepath.Join(dir, fmt.Sprintf("data-%d", i))
		if len(election) == 0 {
			election = []string{"--leader-election", "postgres"}
		}
		p := &process{t: t, bin: bin, log: logFile, url: "http://" + addr, dataDir: data, database: database,
			args: []string{"server", "--data-dir", data, "--listen", addr, "--kubeconfig", kubeconfig,
				"--database", database, "--seal-key-file", key, "--nacos-grpc", "off",
				"--lease-duration", haLease.String()},
			env: append(os.Environ(), "BERTH_ADMIN_PASSWORD="+adminPassword)}
		p.args = append(p.args, election...)
		p.start() // one after the other: the first creates the admin and the seal key
		t.Cleanup(p.kill)
		out = append(out, p)
	}
	return out
}

// role is what p's /readyz says it is ("leader" or "follower"), "" when
// it does not answer.
func role(p *process) string {
	resp, err := http.Get(p.url + "/readyz")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Role   string `json:"role"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return ""
	}
	return body.Role
}

// leaderOf waits until exactly one of ps says it leads and returns it and
// the others.
func leaderOf(t *testing.T, ps []*process, within time.Duration) (*process, []*process) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var lead *process
		var rest []*process
		leaders := 0
		for _, p := range ps {
			switch role(p) {
			case "leader":
				lead, leaders = p, leaders+1
			case "follower":
				rest = append(rest, p)
			}
		}
		if leaders == 1 && len(rest) == len(ps)-1 {
			return lead, rest
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader among %d replicas within %s (%d say they lead)", len(ps), within, leaders)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metric returns the value of the sample named name on p's /metrics.
func metric(t *testing.T, p *process, name string) string {
	t.Helper()
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	t.Fatalf("/metrics of %s has no %s", p.url, name)
	return ""
}

// cliOn returns the CLI logged in to p as the admin, with a config file of
// its own under dir.
func cliOn(t *testing.T, p *process, dir, name string) berth {
	t.Helper()
	vars := map[string]string{"BERTH_CONFIG": filepath.Join(dir, name+".yaml")}
	b := berth{t: t, getenv: func(k string) string { return vars[k] }}
	b.must(adminPassword+"\n", []string{"login", "--server", checked(t, p.url), "--username", "admin", "--password-stdin"}, "Logged in")
	b.must("", []string{"context", "set", "-t", "bank", "-p", "pay"})
	return b
}

// ha is two replicas on the local cluster, the CLI logged in to the
// follower, and applications deployed at v1 in namespace ns.
type ha struct {
	c              *clustertest.Cluster
	bin, dir, ns   string
	lead, follower *process
	b              berth
}

// startHA starts two replicas (with the election flags given) and,
// through the follower, the bank and apps (with versions v2, v3 and
// v3-crash), deployed at v1 by the leader in a namespace named after
// prefix.
func startHA(t *testing.T, prefix string, apps []string, election ...string) ha {
	t.Helper()
	c := clustertest.Start(t)
	bin := buildBerth(t)
	h := ha{c: c, bin: bin, dir: t.TempDir(), ns: fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%100000)}
	lead, rest := leaderOf(t, replicaSet(t, c.Kubeconfig(), bin, 2, election...), 30*time.Second)
	h.lead, h.follower = lead, rest[0]
	h.b = cliOn(t, h.follower, h.dir, "follower")
	haFixture(t, c, h.b, h.dir, h.ns, apps)
	for _, app := range apps {
		runs(t, c, h.ns, app, "v1") // the leader applied what the follower committed
	}
	return h
}

// haFixture applies the bank, its applications and their versions
// through b and deploys v1 of each, in namespace ns.
func haFixture(t *testing.T, c *clustertest.Cluster, b berth, dir, ns string, apps []string) {
	t.Helper()
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	file := filepath.Join(dir, "bank.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(manifest, "namespace: bank-pay-dev", "namespace: "+ns, 1)+releaseApps(apps...)), 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"apply", "-f", file})
	for _, app := range apps {
		for _, v := range []struct{ name, simulate string }{{"v2", ""}, {"v3", ""}, {"v3-crash", "crash-loop"}} {
			b.must("", []string{"apply", "-f", versionFile(t, dir, app, v.name, v.simulate)})
		}
		b.must("", []string{"app", "deploy", app, "v1", "--env", "dev"})
	}
}

// TestKillingTheLeaderHandsItsOrdersToAnotherReplica runs two servers on
// one PostgreSQL database and the local cluster. Everything is done
// through the follower, so the leader's controllers act on changes another
// replica committed. The leader is killed with SIGKILL while a release
// order goes forward: the follower takes over within the lease and the
// order ends Succeeded. The killed server comes back as a follower; the
// new leader is killed while an order with a crash-looping version rolls
// back: the first takes over again and the order ends RolledBack with the
// versions that ran before it. The audit chain verifies.
func TestKillingTheLeaderHandsItsOrdersToAnotherReplica(t *testing.T) {
	apps := []string{"s1", "s2", "s3", "s4"}
	h := startHA(t, "bank-pay-ha", apps)
	c, ns, dir, lead, follower, b := h.c, h.ns, h.dir, h.lead, h.follower, h.b

	good := failover(t, b, lead, follower, stagesOf(apps, "v2", ""), "Running")
	if good.State != "Succeeded" {
		t.Fatalf("order ended %s, failure %+v: %+v", good.State, good.Failure, good.Items)
	}
	checkItems(t, good, "v1", map[string]string{"s1": "Succeeded", "s2": "Succeeded", "s3": "Succeeded", "s4": "Succeeded"})
	for _, app := range apps {
		runs(t, c, ns, app, "v2")
	}
	if got := metric(t, follower, "berth_leader"); got != "1" {
		t.Errorf("berth_leader of the new leader = %s, want 1", got)
	}
	if got := metric(t, follower, "berth_leader_transitions_total"); got != "1" {
		t.Errorf("berth_leader_transitions_total of the new leader = %s, want 1", got)
	}

	// The killed server comes back, as a follower, and the CLI moves to it.
	lead.start()
	newLead, rest := leaderOf(t, []*process{lead, follower}, 30*time.Second)
	if newLead != follower {
		t.Fatal("the restarted server took the lead from the live one")
	}
	if got := metric(t, lead, "berth_leader"); got != "0" {
		t.Errorf("berth_leader of the restarted follower = %s, want 0", got)
	}
	b = cliOn(t, rest[0], dir, "restarted")
	bad := failover(t, b, newLead, rest[0], stagesOf(apps, "v3", "s2"), "Failed", "RollingBack")
	if bad.State != "RolledBack" || bad.Failure == nil || bad.Failure.Item != "s2" {
		t.Fatalf("crash order ended %s, failure %+v: %+v", bad.State, bad.Failure, bad.Items)
	}
	checkItems(t, bad, "v2", map[string]string{"s1": "RolledBack", "s2": "RolledBack", "s3": "Cancelled", "s4": "Cancelled"})
	for _, app := range apps {
		runs(t, c, ns, app, "v2")
	}
	b.must("", []string{"audit", "verify"}, "OK")
}

// failover creates and starts an order through b (logged in to
// follower), kills lead with SIGKILL once the order is in one of the
// states killIn, checks that follower leads within the lease (plus the
// time to notice), and returns the order once it ended.
func failover(t *testing.T, b berth, lead, follower *process, stages []string, killIn ...string) apitypes.OrderView {
	t.Helper()
	out := b.must("", append([]string{"release", "create", "--env", "dev", "--title", "failover", "--deadline", "2m"}, stages...), "created")
	id := orderID.FindString(out)
	b.must("", []string{"release", "start", id}, "Running")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		o, ok := getOrder(b, id)
		if ok && started(o) && contains(killIn, o.State) {
			break
		}
		if ok && (o.State == "Succeeded" || o.State == "RolledBack") || time.Now().After(deadline) {
			t.Fatalf("order %s was never %v with an item started before the kill: %s %+v", id, killIn, o.State, o.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	lead.kill()
	killed := time.Now()
	if st := lead.stored(id).State; !contains(killIn, string(st)) {
		t.Fatalf("the leader was killed with the order %s, want %v", st, killIn)
	}
	takesOver(t, follower, killed)
	for {
		o, ok := getOrder(b, id)
		if ok && (o.State == "Succeeded" || o.State == "RolledBack") {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s did not end after the failover: %s %+v", id, o.State, o.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// takesOver waits until follower leads, failing when it did not within
// three leases of the leader's death at killed: the dead leader's last
// renewal lasts haLease and the follower tries every haLease/4; the rest
// is room for a loaded machine.
func takesOver(t *testing.T, follower *process, killed time.Time) {
	t.Helper()
	for role(follower) != "leader" {
		if time.Since(killed) > 3*haLease {
			t.Fatalf("the follower did not take over within %s of the leader's death", 3*haLease)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("follower took over %s after the leader was killed (lease %s)", time.Since(killed).Round(time.Millisecond), haLease)
}

// started reports whether an item of o has started (it has a "before").
func started(o apitypes.OrderView) bool {
	for _, it := range o.Items {
		if it.Before != nil {
			return true
		}
	}
	return false
}

func contains[S ~string](list []string, s S) bool {
	for _, v := range list {
		if v == string(s) {
			return true
		}
	}
	return false
}

// TestAChangeThroughOneReplicaReachesEveryReplicasLiveStream opens the
// live event stream on both replicas of one database and deploys through
// the follower: the leader's stream hears the deployment the follower
// committed (relayed by PostgreSQL NOTIFY), its controller applies it, and
// the follower's stream hears that it was applied, which only the
// leader's controller announces.
func TestAChangeThroughOneReplicaReachesEveryReplicasLiveStream(t *testing.T) {
	h := startHA(t, "bank-pay-hal", []string{"s1"})
	c, ns, lead, follower, b := h.c, h.ns, h.lead, h.follower, h.b
	out := b.must("", []string{"token", "create", "live"}, "shown only now")
	token := strings.TrimSpace(between(out, ":\n", "\n(shown"))

	onLead := openEvents(t, lead, token)
	onFollower := openEvents(t, follower, token)
	b.must("", []string{"app", "deploy", "s1", "v2", "--env", "dev"})
	onLead.await(t, `"kind":"deployment"`, `"name":"s1"`)
	runs(t, c, ns, "s1", "v2")
	onFollower.await(t, `"kind":"applied"`, `"name":"s1"`)
}

// events is an open live event stream: its data lines arrive on lines.
type events struct {
	lines chan string
}

func openEvents(t *testing.T, p *process, token string) *events {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/events?topics=deployments", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET /api/v1/events on %s = %d %s", p.url, resp.StatusCode, b)
	}
	e := &events{lines: make(chan string, 1024)}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				select {
				case e.lines <- data:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return e
}

// await waits for an event whose data contains every one of wants.
func (e *events) await(t *testing.T, wants ...string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case data := <-e.lines:
			ok := true
			for _, w := range wants {
				ok = ok && strings.Contains(data, w)
			}
			if ok {
				return
			}
		case <-timeout:
			t.Fatalf("no event with %q within a minute", wants)
		}
	}
}

// TestKillingTheLeaderOfAKubernetesLease elects the leader through a
// Lease in the local cluster: the leader is killed with SIGKILL, the
// follower takes over once the Lease expires, and a deployment made
// through the new leader is applied by its controllers.
func TestKillingTheLeaderOfAKubernetesLease(t *testing.T) {
	c := clustertest.Start(t)
	leases := c.Namespace(t)
	h := startHA(t, "bank-pay-hak", []string{"s1"}, "--leader-election", "kubernetes", "--lease-namespace", leases)
	l, err := c.Client.CoordinationV1().Leases(leases).Get(t.Context(), "berth-controllers", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil || !strings.HasSuffix(*l.Spec.HolderIdentity, h.lead.dataDir) {
		t.Fatalf("the Lease does not name the leader (%s): %+v, %v", h.lead.dataDir, l, err)
	}
	h.lead.kill()
	takesOver(t, h.follower, time.Now())
	h.b.must("", []string{"app", "deploy", "s1", "v2", "--env", "dev"})
	runs(t, c, h.ns, "s1", "v2")
}
