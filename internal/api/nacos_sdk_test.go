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
	h := newHarnessWith(t, storetest.SQLite(t), Options{ConfigWatch: watch, Changes: bus}, func(o *platform.Options) { o.Changes = bus })
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
