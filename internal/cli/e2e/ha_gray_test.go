package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
)

// gatewayProc is `berth gateway` as a real process following one
// replica's configuration stream. Frozen (SIGSTOP) it neither applies nor
// acknowledges what the replica publishes, as a gateway on a stalled
// machine would; thawed (SIGCONT) it catches up.
type gatewayProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	admin string // http://host:port of its /readyz and /metrics
}

// startGateway runs `berth gateway` streaming from p with token, resolving
// Services in the cluster of kubeconfig, and waits until it has put a
// configuration in force.
func startGateway(t *testing.T, bin string, p *process, token, kubeconfig string) *gatewayProc {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "gateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	g := &gatewayProc{t: t, admin: "http://" + freeAddr(t)}
	g.cmd = exec.Command(bin, "gateway", "--server", p.url+"/api/v1/gateway/config", "--kubeconfig", kubeconfig,
		"--listen", freeAddr(t), "--admin-listen", strings.TrimPrefix(g.admin, "http://"), "--access-log", "off")
	g.cmd.Env = append(os.Environ(), "BERTH_GATEWAY_TOKEN="+token)
	g.cmd.Stdout, g.cmd.Stderr = logFile, logFile
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(g.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway put no configuration in force within 30s: %v (log %s)", err, logFile.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (g *gatewayProc) freeze() { g.signal(syscall.SIGSTOP) }
func (g *gatewayProc) thaw()   { g.signal(syscall.SIGCONT) }

func (g *gatewayProc) signal(s syscall.Signal) {
	g.t.Helper()
	if err := g.cmd.Process.Signal(s); err != nil {
		g.t.Fatal(err)
	}
}

// stop ends the gateway, frozen or not.
func (g *gatewayProc) stop() {
	_ = g.cmd.Process.Kill()
	_ = g.cmd.Wait()
}

// configOf reads the gateway configuration p publishes now.
func configOf(t *testing.T, p *process, token string) gateway.Config {
	t.Helper()
	var cfg gateway.Config
	getJSON(t, p, token, "/gateway/config", &cfg)
	return cfg
}

// getJSON decodes into v what GET /api/v1+path answers on p with token.
func getJSON(t *testing.T, p *process, token, path string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.url+"/api/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, v) != nil {
		t.Fatalf("GET /api/v1%s on %s: %d %s", path, p.url, resp.StatusCode, body)
	}
}

// appOf returns the gateway app of application name in namespace ns.
func appOf(t *testing.T, cfg gateway.Config, ns, name string) gateway.App {
	t.Helper()
	for _, a := range cfg.Apps {
		if strings.HasSuffix(a.Name, "/"+ns+"/"+name) {
			return a
		}
	}
	t.Fatalf("no gateway app for %s/%s among %d", ns, name, len(cfg.Apps))
	return gateway.App{}
}

// planOf reads the gray plan of app in dev through b.
func planOf(t *testing.T, b berth, app string) apitypes.GrayPlanView {
	t.Helper()
	var views []apitypes.GrayPlanView
	if err := json.Unmarshal([]byte(b.must("", []string{"gray", "status", app, "-e", "dev", "-o", "json"})), &views); err != nil || len(views) != 1 {
		t.Fatalf("gray status of %s: %v, %d plans", app, err, len(views))
	}
	return views[0]
}

// grayApplied waits until the controller has applied the plan of app at
// its generation, with every version of serving serving, and returns it.
func grayApplied(t *testing.T, b berth, app string, serving ...string) apitypes.GrayPlanView {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p := planOf(t, b, app)
		done := p.Applied.Generation == p.Generation && p.Applied.Error == ""
		for _, v := range serving {
			done = done && slices.Contains(p.Applied.Serving, v)
		}
		if done {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("plan of %s never applied generation %d serving %v: %+v", app, p.Generation, serving, p.Applied)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// storedPlan reads the gray plan of app in bank/pay/dev from the database
// of the killed server: what it had committed when it died.
func (p *process) storedPlan(app string) gray.Plan {
	p.t.Helper()
	var plan gray.Plan
	p.view("the plan of "+app, func(tx platform.Tx) (err error) {
		plan, err = tx.GetPlan(p.t.Context(), deploy.Key{Tenant: "bank", Project: "pay", Application: app, Environment: "dev"})
		return err
	})
	return plan
}

// grayVersion is a second version of red-auth (the manifest's first is
// v1): same port, one replica.
func grayVersion(t *testing.T, dir string) string {
	t.Helper()
	file := filepath.Join(dir, "red-auth-v2.yaml")
	doc := `apiVersion: berth.dev/v1
kind: Application
metadata: {name: red-auth, tenant: bank, project: pay}
spec: {version: {name: v2, image: registry.local/red-auth:2.0, tier: small, orchestration: {replicas: 1, ports: [{name: http, containerPort: 8080}]}}}
`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// countAudit counts the successful records of action by the admin.
func countAudit(t *testing.T, b berth, action string) int {
	t.Helper()
	out := b.must("", []string{"audit", "list", "-o", "jsonl", "--action", action})
	n := 0
	for line := range strings.Lines(out) {
		var r struct{ Action, Outcome string }
		if json.Unmarshal([]byte(line), &r) == nil && r.Action == action && r.Outcome == "success" {
			n++
		}
	}
	return n
}

// TestKillingTheLeaderDuringAGrayPlanChange runs two servers on one
// PostgreSQL database and the local cluster, and a real `berth gateway`
// streaming from the follower; every change is made through a follower.
// A gray plan of red-auth runs v2 beside v1 at a first weight. The
// gateway is frozen, so the leader, which removes or moves nothing before
// every gateway of every replica has the new routes in force, holds the
// next step unapplied; the leader is killed with SIGKILL then. The
// follower takes over within the lease, the gateway thaws and
// acknowledges, and the step is applied once: the published routes send
// the step's weight to v2, the gray Deployment is the same object at the
// same generation, one grayplan.step is audited. The killed server comes
// back as a follower, a second gateway streams from it, and the new leader
// is killed the same way holding a promotion: the other takes over, the
// main Deployment rolls to v2 once (one revision more), the old version is kept
// beside it, the gray copy is removed, the routes send everything to v2.
// The audit chain verifies.
func TestKillingTheLeaderDuringAGrayPlanChange(t *testing.T) {
	h := startHA(t, "bank-pay-hag", nil)
	c, bin, ns, dir, lead, follower, b := h.c, h.bin, h.ns, h.dir, h.lead, h.follower, h.b
	b.must("", []string{"apply", "-f", grayVersion(t, dir)})
	b.must("", []string{"app", "deploy", "red-auth", "v1", "--env", "dev"})
	runs(t, c, ns, "red-auth", "v1")
	out := b.must("", []string{"token", "create", "gateway"}, "shown only now")
	token := strings.TrimSpace(between(out, ":\n", "\n(shown"))
	gw := startGateway(t, bin, follower, token, c.Kubeconfig())

	b.must("", []string{"gray", "start", "red-auth", "v2", "-e", "dev", "--step", "weight=10", "--step", "weight=50"})
	grayApplied(t, b, "red-auth", "v2")
	grayDep, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), gray.ServiceName("red-auth", "v2"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// A step, held by the frozen gateway, and the leader killed.
	gw.freeze()
	b.must("", []string{"gray", "step", "red-auth", "-e", "dev"})
	lead.kill()
	killed := time.Now()
	if p := lead.storedPlan("red-auth"); p.Step != 1 || p.Applied.Generation >= p.Generation {
		t.Fatalf("the leader was killed with the plan at step %d, generation %d applied of %d; want step 2 committed, not applied",
			p.Step+1, p.Applied.Generation, p.Generation)
	}
	gw.thaw()
	takesOver(t, follower, killed)
	stepped := grayApplied(t, b, "red-auth", "v2")
	if stepped.Step != 1 || stepped.Phase != gray.Running {
		t.Fatalf("after the failover the plan is %s at step %d, want Running at step 2", stepped.Phase, stepped.Step+1)
	}
	if a := appOf(t, configOf(t, follower, token), ns, "red-auth"); a.Gray == nil || a.Gray.Service.Name != gray.ServiceName("red-auth", "v2") || a.Traffic.Weight != 50 {
		t.Fatalf("the new leader routes %+v; want 50%% to %s", a, gray.ServiceName("red-auth", "v2"))
	}
	after, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), grayDep.Name, metav1.GetOptions{})
	if err != nil || after.UID != grayDep.UID || after.Generation != grayDep.Generation {
		t.Fatalf("the gray Deployment was replaced or changed by the step (%v): uid %s→%s, generation %d→%d",
			err, grayDep.UID, after.UID, grayDep.Generation, after.Generation)
	}
	if n := countAudit(t, b, "grayplan.step"); n != 1 {
		t.Errorf("%d grayplan.step records, want 1", n)
	}

	// The killed server comes back as a follower, with a gateway of its
	// own; the first gateway leaves.
	lead.start()
	newLead, rest := leaderOf(t, []*process{lead, follower}, 30*time.Second)
	if newLead != follower {
		t.Fatal("the restarted server took the lead from the live one")
	}
	gw.stop()
	b = cliOn(t, rest[0], dir, "restarted")
	gw = startGateway(t, bin, rest[0], token, c.Kubeconfig())

	revision := func() int {
		t.Helper()
		d, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(d.Annotations["deployment.kubernetes.io/revision"])
		if err != nil {
			t.Fatalf("revision of the main Deployment: %v", err)
		}
		return n
	}
	before := revision()
	gw.freeze()
	b.must("", []string{"gray", "promote", "red-auth", "-e", "dev", "--keep-old", "1h"})
	newLead.kill()
	killed = time.Now()
	if p := newLead.storedPlan("red-auth"); p.Phase != gray.Promoted || p.Applied.Generation >= p.Generation {
		t.Fatalf("the leader was killed with the plan %s, generation %d applied of %d; want Promoted committed, not applied",
			p.Phase, p.Applied.Generation, p.Generation)
	}
	gw.thaw()
	takesOver(t, rest[0], killed)
	runs(t, c, ns, "red-auth", "v2")
	promoted := grayApplied(t, b, "red-auth", "v2", "v1")
	if promoted.Phase != gray.Promoted {
		t.Fatalf("after the failover the plan is %s, want Promoted", promoted.Phase)
	}
	if r := revision(); r != before+1 {
		t.Fatalf("the main Deployment is at revision %d, want %d: rolled to v2 once", r, before+1)
	}
	gone(t, c, ns, gray.ServiceName("red-auth", "v2"))
	if _, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), gray.ServiceName("red-auth", "v1"), metav1.GetOptions{}); err != nil {
		t.Fatalf("the old version is not kept: %v", err)
	}
	a := appOf(t, configOf(t, rest[0], token), ns, "red-auth")
	if a.Stable.Service == nil || a.Stable.Service.Name != gray.ServiceName("red-auth", "v2") || (a.Gray != nil && a.Traffic.BlueGreen != "stable") {
		t.Fatalf("the new leader routes %+v after the promotion; want everything to %s", a, gray.ServiceName("red-auth", "v2"))
	}
	if n := countAudit(t, b, "grayplan.promote"); n != 1 {
		t.Errorf("%d grayplan.promote records, want 1", n)
	}
	b.must("", []string{"audit", "verify"}, "OK")
}

// gone waits until Deployment name in ns no longer exists.
func gone(t *testing.T, c *clustertest.Cluster, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Deployment %s/%s is still there: %v", ns, name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// deliveriesOf reads p's view of the gateways' acknowledgements.
func deliveriesOf(t *testing.T, p *process, token string) apitypes.GatewayDeliveries {
	t.Helper()
	var d apitypes.GatewayDeliveries
	getJSON(t, p, token, "/gateway/deliveries", &d)
	return d
}

// awaitDeliveries polls p's deliveries until ok holds, at most a minute.
func awaitDeliveries(t *testing.T, p *process, token, what string, ok func(apitypes.GatewayDeliveries) bool) apitypes.GatewayDeliveries {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d := deliveriesOf(t, p, token)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never so on %s: %+v", what, p.url, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// theGateway returns the one gateway d lists.
func theGateway(t *testing.T, d apitypes.GatewayDeliveries) apitypes.GatewayDelivery {
	t.Helper()
	if len(d.Gateways) != 1 {
		t.Fatalf("%d gateways listed, want the one: %+v", len(d.Gateways), d)
	}
	return d.Gateways[0]
}

// TestTheLeaderCountsTheAcknowledgementOfAFollowersGateway runs two
// servers on one PostgreSQL database and a real `berth gateway` streaming
// from the follower only. Changes are made through the leader: the
// follower rebuilds the configuration from the database (woken by
// NOTIFY), streams it, and the gateway acknowledges it to the follower;
// the leader, whose gray plan controller waits for it, lists that gateway
// of the other replica with the leader's own configuration in force —
// both replicas name the configuration alike. Frozen, the gateway is
// listed behind the next change on both; thawed, it catches up and the
// leader counts the change delivered.
func TestTheLeaderCountsTheAcknowledgementOfAFollowersGateway(t *testing.T) {
	h := startHA(t, "bank-pay-hack", nil)
	lb := cliOn(t, h.lead, h.dir, "leader")
	out := lb.must("", []string{"token", "create", "gateway"}, "shown only now")
	token := strings.TrimSpace(between(out, ":\n", "\n(shown"))
	gw := startGateway(t, h.bin, h.follower, token, h.c.Kubeconfig())
	onFollower := awaitDeliveries(t, h.follower, token, "the follower's gateway current", func(d apitypes.GatewayDeliveries) bool {
		return len(d.Gateways) == 1 && d.Gateways[0].Current
	})
	if g := theGateway(t, onFollower); !g.Local || g.Replica != onFollower.Replica {
		t.Fatalf("the follower lists its own gateway as %+v (it is %s)", g, onFollower.Replica)
	}
	first := onFollower.Config

	// A change through the leader: red-auth gets a route.
	lb.must("", []string{"app", "deploy", "red-auth", "v1", "--env", "dev"})
	onLeader := awaitDeliveries(t, h.lead, token, "the follower's gateway current at the leader's new configuration", func(d apitypes.GatewayDeliveries) bool {
		return d.Config != first && len(d.Gateways) == 1 && d.Gateways[0].Current && d.Delivered
	})
	if g := theGateway(t, onLeader); g.Local || g.Replica != onFollower.Replica || g.Applied != onLeader.Config {
		t.Fatalf("the leader (%s) lists the gateway as %+v; want the follower's (%s), with %s in force", onLeader.Replica, g, onFollower.Replica, onLeader.Config)
	}
	if d := deliveriesOf(t, h.follower, token); d.Config != onLeader.Config {
		t.Fatalf("the replicas name one state's configuration differently: leader %s, follower %s", onLeader.Config, d.Config)
	}

	// Frozen, the gateway is behind the next change, on both replicas.
	gw.freeze()
	lb.must(blueApp, []string{"apply", "-f", "-"}, "Application/blue-pay")
	lb.must("", []string{"app", "deploy", "blue-pay", "v1", "--env", "dev"})
	behind := awaitDeliveries(t, h.lead, token, "the leader's next configuration", func(d apitypes.GatewayDeliveries) bool {
		return d.Config != onLeader.Config && len(d.Gateways) == 1
	})
	if g := theGateway(t, behind); g.Current || g.Applied != onLeader.Config {
		t.Fatalf("the frozen gateway is listed %+v by the leader; want behind, with %s in force", g, onLeader.Config)
	}
	awaitDeliveries(t, h.follower, token, "the follower's gateway behind", func(d apitypes.GatewayDeliveries) bool {
		return d.Config == behind.Config && len(d.Gateways) == 1 && !d.Gateways[0].Current
	})
	gw.thaw()
	awaitDeliveries(t, h.lead, token, "the thawed gateway current at the leader", func(d apitypes.GatewayDeliveries) bool {
		return d.Config == behind.Config && len(d.Gateways) == 1 && d.Gateways[0].Current && d.Delivered
	})
}

// blueApp is a second application of bank/pay with a port, so that
// deploying it adds a gateway route.
const blueApp = `apiVersion: berth.dev/v1
kind: Application
metadata: {name: blue-pay, tenant: bank, project: pay}
spec: {version: {name: v1, image: registry.local/blue-pay:1, tier: small, orchestration: {replicas: 1, ports: [{name: http, containerPort: 8080}]}}}
`
