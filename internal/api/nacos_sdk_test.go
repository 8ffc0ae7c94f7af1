package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/config_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/tenancy"
)

// The namespace of acme/payments/test, and the password of the users of
// nacosFixture.
const (
	nacosNS       = "acme.payments.test"
	nacosPassword = "nacos-user-password"
)

// nacosHarness is the API with the Nacos HTTP API on a loopback server of
// its own and the Nacos gRPC server on another port.
type nacosHarness struct {
	*harness
	httpPort, grpcPort int
	grpc               *NacosGRPC
	watch              *configcenter.Watch
	nacosURL           string
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newNacosHarness starts Berth with a change bus waking the config
// watch, a fixture of tenant acme, project payments, environments test
// and prod, and users dora (developer), vera (viewer) and otto
// (developer of another project), all with nacosPassword.
func newNacosHarness(t *testing.T) *nacosHarness {
	t.Helper()
	bus := change.NewBus()
	watch := configcenter.NewWatch()
	watch.Subscribe(bus)
	h := newHarnessWith(t, storetest.SQLite(t), Options{ConfigWatch: watch}, func(o *platform.Options) { o.Changes = bus })
	nacosFixture(t, h.p)
	srv := httptest.NewServer(h.api.Nacos())
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := NewNacosGRPC(h.api)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(ln) }()
	t.Cleanup(func() { g.Stop(); <-done })
	return &nacosHarness{harness: h, httpPort: portOf(t, srv.Listener.Addr()), grpcPort: portOf(t, ln.Addr()), grpc: g, watch: watch, nacosURL: srv.URL}
}

func portOf(t *testing.T, a net.Addr) int {
	t.Helper()
	_, p, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func nacosFixture(t *testing.T, p *platform.Platform) {
	t.Helper()
	ctx, a := t.Context(), audit.System
	err := p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(ctx, tx, a, tenancy.Tenant{Name: "acme"}); err != nil {
			return err
		}
		for _, pr := range []string{"payments", "cards"} {
			if _, err := p.Tenancy.CreateProject(ctx, tx, a, tenancy.Project{Tenant: "acme", Name: pr}); err != nil {
				return err
			}
		}
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, a, tenancy.Cluster{Name: "bj-1"}, []byte("kubeconfig")); err != nil {
			return err
		}
		for _, env := range []string{"test", "prod"} {
			e := tenancy.Environment{Tenant: "acme", Project: "payments", Name: env, Cluster: "bj-1", Namespace: "payments-" + env}
			if env == "prod" {
				e.RequiredApprovals = 1
			}
			if _, err := p.Tenancy.CreateEnvironment(ctx, tx, a, e); err != nil {
				return err
			}
		}
		for _, m := range []struct {
			user, project string
			role          tenancy.Role
		}{{"dora", "payments", tenancy.Developer}, {"vera", "payments", tenancy.Viewer}, {"otto", "cards", tenancy.Developer}} {
			if _, err := p.Identity.CreateUser(ctx, tx, a, identity.User{Name: m.user}, nacosPassword); err != nil {
				return err
			}
			if _, err := p.Tenancy.AddMember(ctx, tx, a, tenancy.Member{Scope: tenancy.Scope{Tenant: "acme", Project: m.project}, User: m.user, Role: m.role}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sdkClient is the real Nacos Go SDK's config client logged in as user.
func (h *nacosHarness) sdkClient(t *testing.T, user, namespace string) config_client.IConfigClient {
	t.Helper()
	cc := constant.NewClientConfig(constant.WithNamespaceId(namespace), constant.WithTimeoutMs(5000),
		constant.WithNotLoadCacheAtStart(true), constant.WithDisableUseSnapShot(true), constant.WithLogDir(t.TempDir()), constant.WithCacheDir(t.TempDir()),
		constant.WithUsername(user), constant.WithPassword(nacosPassword), constant.WithLogLevel("error"))
	sc := constant.NewServerConfig("127.0.0.1", uint64(h.httpPort), constant.WithContextPath("/nacos"), constant.WithGrpcPort(uint64(h.grpcPort)))
	c, err := clients.NewConfigClient(vo.NacosClientParam{ClientConfig: cc, ServerConfigs: []constant.ServerConfig{*sc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseClient)
	return c
}

// TestNacosSDKGetPublishListenRemove drives Berth with the real Nacos Go
// SDK over gRPC: publish, get, a listener that hears a change published
// on Berth's side (not by the SDK), search, remove.
//
// The SDK tests do not run in parallel: the SDK keeps its clients in a
// package-level map it guards with no lock.
func TestNacosSDKGetPublishListenRemove(t *testing.T) {
	h := newNacosHarness(t)
	c := h.sdkClient(t, "dora", nacosNS)
	ok, err := c.PublishConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP", Content: "server:\n  port: 8080\n", Type: "yaml"})
	if err != nil || !ok {
		t.Fatalf("publish = %v, %v", ok, err)
	}
	got, err := c.GetConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP"})
	if err != nil || got != "server:\n  port: 8080\n" {
		t.Fatalf("get = %q, %v", got, err)
	}
	changes := make(chan string, 10)
	err = c.ListenConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP", OnChange: func(ns, group, dataID, data string) {
		changes <- ns + "|" + group + "|" + dataID + "|" + data
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Once the connection listens, Berth's side publishes: the change
	// must reach the SDK's listener.
	k := configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "DEFAULT_GROUP", DataID: "red-auth.yaml"}
	waitFor(t, "the connection to listen", func() bool { return h.watch.Watchers(k) == 1 })
	dora := platform.Caller{Actor: audit.Actor{User: "dora"}, Bindings: []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "acme", Project: "payments"}}}}
	err = h.p.Do(t.Context(), dora.Actor, audit.Event{Action: "config.publish"}, func(tx platform.Tx) error {
		_, err := h.p.PublishConfig(t.Context(), tx, dora, configcenter.Change{Key: k, Content: "server:\n  port: 9090\n"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := nacosNS + "|DEFAULT_GROUP|red-auth.yaml|server:\n  port: 9090\n"
	select {
	case got := <-changes:
		if got != want {
			t.Fatalf("listener heard %q, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the listener heard nothing of the change in 30s")
	}
	// The SDK also polls every 5 s: the change must have been pushed.
	if n := h.grpc.NotifyAcks(); n < 1 {
		t.Errorf("the client acknowledged %d pushed changes, want at least 1", n)
	}
	page, err := c.SearchConfig(vo.SearchConfigParam{Search: "blur", DataId: "red-*", PageNo: 1, PageSize: 10})
	if err != nil || page.TotalCount != 1 || page.PageItems[0].DataId != "red-auth.yaml" || page.PageItems[0].Content != "server:\n  port: 9090\n" {
		t.Fatalf("search = %+v, %v", page, err)
	}
	ok, err = c.DeleteConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP"})
	if err != nil || !ok {
		t.Fatalf("delete = %v, %v", ok, err)
	}
	err = h.p.DB.View(t.Context(), func(tx platform.Tx) error {
		hist, err := h.p.ConfigHistory(t.Context(), tx, dora, k, 0, 10)
		if len(hist) != 3 || hist[0].Op != configcenter.OpDelete || hist[2].Author != "dora" {
			t.Errorf("history = %+v", hist)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNacosSDKIsBoundByBerthRoles: a viewer reads but cannot publish
// (refused and audited), another project's developer reads nothing, and
// a publish where approvals are required is refused.
func TestNacosSDKIsBoundByBerthRoles(t *testing.T) {
	h := newNacosHarness(t)
	dora := h.sdkClient(t, "dora", nacosNS)
	if ok, err := dora.PublishConfig(vo.ConfigParam{DataId: "a.properties", Group: "G", Content: "a=1\n", Type: "properties"}); !ok || err != nil {
		t.Fatalf("dora publishes: %v, %v", ok, err)
	}
	vera := h.sdkClient(t, "vera", nacosNS)
	if got, err := vera.GetConfig(vo.ConfigParam{DataId: "a.properties", Group: "G"}); err != nil || got != "a=1\n" {
		t.Errorf("viewer reads %q, %v", got, err)
	}
	if ok, err := vera.PublishConfig(vo.ConfigParam{DataId: "a.properties", Group: "G", Content: "a=2\n"}); ok || err == nil {
		t.Errorf("viewer publishes: %v, %v; want refused", ok, err)
	}
	otto := h.sdkClient(t, "otto", nacosNS)
	if got, _ := otto.GetConfig(vo.ConfigParam{DataId: "a.properties", Group: "G"}); got != "" {
		t.Errorf("another project's developer reads %q", got)
	}
	prod := h.sdkClient(t, "dora", "acme.payments.prod")
	if ok, err := prod.PublishConfig(vo.ConfigParam{DataId: "a.properties", Group: "G", Content: "a=1\n"}); ok || err == nil {
		t.Errorf("a direct publish in prod: %v, %v; want refused (approvals)", ok, err)
	}
	if ok, err := dora.PublishConfig(vo.ConfigParam{DataId: "b.json", Group: "G", Content: "{\"a\": }", Type: "json"}); ok || err == nil {
		t.Errorf("invalid JSON published: %v, %v", ok, err)
	}
	var denied int
	err := h.p.DB.View(t.Context(), func(tx platform.Tx) error {
		recs, err := tx.ListAudit(t.Context(), audit.Query{Limit: 500})
		for _, r := range recs {
			if r.Action == "config.publish" && r.Outcome == audit.Denied && r.Actor == "vera" {
				denied++
			}
		}
		return err
	})
	if err != nil || denied != 1 {
		t.Errorf("denied publishes by vera audited: %d, %v; want 1", denied, err)
	}
}

// TestNacosSDKReconnectsAfterARestartWithoutLosingAChange stops the gRPC
// server (it asks clients to reset), publishes while it is down, and
// starts it again on the same port: the SDK reconnects and its listener
// hears the change made while it was away. The SDK client runs in a
// helper process (TestNacosSDKHelperProcess) with the race detector's
// reports off: the SDK's reconnection races on its own fields, which is
// none of Berth's code and would fail a -race run.
func TestNacosSDKReconnectsAfterARestartWithoutLosingAChange(t *testing.T) {
	h := newNacosHarness(t)
	k := configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "G", DataID: "r.txt"}
	dora := platform.Caller{Actor: audit.Actor{User: "dora"}, Bindings: []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "acme", Project: "payments"}}}}
	publish := func(content string) {
		t.Helper()
		err := h.p.Do(t.Context(), dora.Actor, audit.Event{Action: "config.publish"}, func(tx platform.Tx) error {
			_, err := h.p.PublishConfig(t.Context(), tx, dora, configcenter.Change{Key: k, Content: content})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	publish("one")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestNacosSDKHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "BERTH_NACOS_HELPER=1", "GORACE=exitcode=0",
		"BERTH_NACOS_HTTP="+strconv.Itoa(h.httpPort), "BERTH_NACOS_GRPC_PORT="+strconv.Itoa(h.grpcPort), "BERTH_NACOS_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	heard := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "heard "); ok {
				heard <- data
			}
		}
	}()
	waitFor(t, "the helper's connection to listen", func() bool { return h.watch.Watchers(k) == 1 })
	h.grpc.Stop()
	waitFor(t, "the connection to go", func() bool { return h.watch.Watchers(k) == 0 })
	publish("two")
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(h.grpcPort))
	if err != nil {
		t.Fatal(err)
	}
	g := NewNacosGRPC(h.api)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(ln) }()
	t.Cleanup(func() { g.Stop(); <-done })
	// The listener may first hear "one" (the SDK's first listen, without
	// a cached MD5); it must then hear "two", and nothing else.
	deadline := time.After(60 * time.Second)
	for got := ""; got != "two"; {
		select {
		case got = <-heard:
			if got != "one" && got != "two" {
				t.Fatalf("the listener heard %q", got)
			}
		case <-deadline:
			t.Fatal("after the restart the listener did not hear \"two\" in 60s")
		}
	}
}

// TestNacosSDKHelperProcess is the SDK client of
// TestNacosSDKReconnectsAfterARestartWithoutLosingAChange when run as its
// helper process (BERTH_NACOS_HELPER=1): it listens to G/r.txt as dora and
// prints "heard <content>" for every change until killed. Otherwise it
// returns at once.
func TestNacosSDKHelperProcess(t *testing.T) {
	if os.Getenv("BERTH_NACOS_HELPER") != "1" {
		return
	}
	port, _ := strconv.ParseUint(os.Getenv("BERTH_NACOS_HTTP"), 10, 64)
	gport, _ := strconv.ParseUint(os.Getenv("BERTH_NACOS_GRPC_PORT"), 10, 64)
	dir := os.Getenv("BERTH_NACOS_DIR")
	cc := constant.NewClientConfig(constant.WithNamespaceId(nacosNS), constant.WithTimeoutMs(5000), constant.WithNotLoadCacheAtStart(true),
		constant.WithLogDir(filepath.Join(dir, "log")), constant.WithCacheDir(filepath.Join(dir, "cache")),
		constant.WithUsername("dora"), constant.WithPassword(nacosPassword), constant.WithLogLevel("error"))
	sc := constant.NewServerConfig("127.0.0.1", port, constant.WithContextPath("/nacos"), constant.WithGrpcPort(gport))
	c, err := clients.NewConfigClient(vo.NacosClientParam{ClientConfig: cc, ServerConfigs: []constant.ServerConfig{*sc}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	err = c.ListenConfig(vo.ConfigParam{DataId: "r.txt", Group: "G", OnChange: func(_, _, _, data string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Println("heard " + data)
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-t.Context().Done() // killed by the test that started it
}

// TestNacosPendingConnectionsDoNotPileUp: connections opened by a
// ServerCheckRequest (which needs no credentials) whose stream never
// opened are forgotten once PendingTimeout passed, when the next opens.
func TestNacosPendingConnectionsDoNotPileUp(t *testing.T) {
	t.Parallel()
	h := newNacosHarness(t)
	g := NewNacosGRPC(h.api)
	for _, addr := range []string{"10.0.0.1:1000", "10.0.0.1:1001"} {
		if _, err := g.serverCheck(addr, configRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	g.byPeer["10.0.0.1:1000"].opened = time.Now().Add(-PendingTimeout - time.Second)
	g.mu.Unlock()
	if _, err := g.serverCheck("10.0.0.1:1002", configRequest{}); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.byPeer["10.0.0.1:1000"]; ok || len(g.byPeer) != 2 {
		t.Errorf("connections = %d (stale one kept: %v), want the two recent ones", len(g.byPeer), ok)
	}
}
