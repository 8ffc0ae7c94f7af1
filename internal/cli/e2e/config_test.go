//go:build !race

// This test runs in make test's race-free pass: the Nacos Go SDK it drives
// races on its own package-level client map (see internal/api/nacos_sdk_norace_test.go).

package e2e

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/config_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"berth.dev/berth/internal/localcluster/clustertest"
)

// lockedBuffer is a buffer the server writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConfigCenterFromTheCLIAndANacosClient runs `berth server` with its
// Nacos gRPC port, changes configuration with `berth config`, and watches
// a real Nacos Go SDK client read it and hear every change, a rollback
// included.
func TestConfigCenterFromTheCLIAndANacosClient(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := clustertest.Start(t).Kubeconfig()
	grpcAddr := freeAddr(t)
	vars := map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword, "BERTH_CONFIG": filepath.Join(dir, "config.yaml"), "BERTH_NACOS_GRPC": grpcAddr}
	getenv := func(k string) string { return vars[k] }
	var out lockedBuffer
	url, _ := startServerOut(t, dir, kubeconfig, getenv, &out)
	b := berth{t: t, getenv: getenv}
	b.must(adminPassword+"\n", []string{"login", "--server", url, "--username", "admin", "--password-stdin", "--context", "local"}, "Logged in")
	manifestFile := filepath.Join(dir, "bank.yaml")
	if err := os.WriteFile(manifestFile, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"apply", "-f", manifestFile}, "Environment/dev")
	b.must("", []string{"context", "set", "-t", "bank", "-p", "pay"})
	b.must("", []string{"config", "set", "red-auth.yaml", "-e", "dev", "--type", "yaml", "--content", "server:\n  port: 8080\n", "-m", "first", "--ticket", "CHG-1"},
		"DEFAULT_GROUP/red-auth.yaml revision 1: publish published")
	if _, err := b.run("", "config", "set", "bad.json", "-e", "dev", "--type", "json", "--content", "{\n\"a\": }"); err == nil {
		t.Error("invalid JSON was published")
	}

	httpAddr := between(out.String(), "Berth server on http://", " ")
	client := adminNacosClient(t, httpAddr, grpcAddr)
	got, err := client.GetConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP"})
	if err != nil || got != "server:\n  port: 8080\n" {
		t.Fatalf("the SDK reads %q, %v", got, err)
	}
	heard := make(chan string, 10)
	if err := client.ListenConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP",
		OnChange: func(_, _, _, data string) { heard <- data }}); err != nil {
		t.Fatal(err)
	}
	expect := func(want string) {
		t.Helper()
		select {
		case data := <-heard:
			if data != want {
				t.Fatalf("the listener heard %q, want %q", data, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the listener heard nothing in 30s (want %q)", want)
		}
	}
	b.must("", []string{"config", "set", "red-auth.yaml", "-e", "dev", "--content", "server:\n  port: 9090\n", "-m", "move"}, "revision 2")
	expect("server:\n  port: 9090\n")
	b.must("", []string{"config", "history", "red-auth.yaml", "-e", "dev"}, "2         publish", "CHG-1", "first")
	b.must("", []string{"config", "diff", "red-auth.yaml", "1", "2", "-e", "dev"}, "-  port: 8080", "+  port: 9090")
	b.must("", []string{"config", "rollback", "red-auth.yaml", "1", "-e", "dev", "-m", "back"}, "revision 3: rollback published")
	expect("server:\n  port: 8080\n")
	b.must("", []string{"config", "get", "red-auth.yaml", "-e", "dev"}, "port: 8080")
	b.must("", []string{"config", "list", "-e", "dev"}, "red-auth.yaml", "yaml")
}

// TestConfigCenterClientsConvergeAfterKill9 kills `berth server` (a real
// process) with SIGKILL right after changes commit, before it can push
// them, and starts it again on the same ports and data: every Nacos SDK
// client reconnects and ends at the latest revision, and none ever hears
// a revision older than one it heard before.
func TestConfigCenterClientsConvergeAfterKill9(t *testing.T) {
	c := clustertest.Start(t)
	bin := buildBerth(t)
	dir := t.TempDir()
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	addr, grpcAddr := freeAddr(t), freeAddr(t)
	srv := &process{t: t, bin: bin, log: logFile, url: "http://" + addr, dataDir: filepath.Join(dir, "data"),
		args: []string{"server", "--data-dir", filepath.Join(dir, "data"), "--listen", addr, "--kubeconfig", c.Kubeconfig()},
		env:  append(os.Environ(), "BERTH_ADMIN_PASSWORD="+adminPassword, "BERTH_NACOS_GRPC="+grpcAddr)}
	srv.start()
	t.Cleanup(srv.kill)

	vars := map[string]string{"BERTH_CONFIG": filepath.Join(dir, "config.yaml")}
	b := berth{t: t, getenv: func(k string) string { return vars[k] }}
	b.must(adminPassword+"\n", []string{"login", "--server", checked(t, srv.url), "--username", "admin", "--password-stdin"}, "Logged in")
	ns := "bank-pay-kill9-" + strconv.FormatInt(time.Now().UnixNano()%100000, 10)
	file := filepath.Join(dir, "bank.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(manifest, "namespace: bank-pay-dev", "namespace: "+ns, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"apply", "-f", file})
	b.must("", []string{"context", "set", "-t", "bank", "-p", "pay"})
	set := func(rev int) {
		t.Helper()
		b.must("", []string{"config", "set", "pool.properties", "-e", "dev", "--type", "properties", "--content", "rev=" + strconv.Itoa(rev) + "\n"}, "published")
	}
	set(0)

	const nClients = 4
	type heardLog struct {
		mu   sync.Mutex
		revs []int
	}
	logs := make([]*heardLog, nClients)
	for i := range nClients {
		client := adminNacosClient(t, addr, grpcAddr)
		l := &heardLog{revs: []int{0}}
		logs[i] = l
		if got, err := client.GetConfig(vo.ConfigParam{DataId: "pool.properties", Group: "DEFAULT_GROUP"}); err != nil || got != "rev=0\n" {
			t.Fatalf("client %d reads %q, %v", i, got, err)
		}
		err = client.ListenConfig(vo.ConfigParam{DataId: "pool.properties", Group: "DEFAULT_GROUP", OnChange: func(_, _, _, data string) {
			rev, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(data, "rev="), "\n"))
			if err != nil {
				rev = -1 // not a revision this test published: fails the order check below
			}
			l.mu.Lock()
			l.revs = append(l.revs, rev)
			l.mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	last := func(l *heardLog) int {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.revs[len(l.revs)-1]
	}
	converged := func(rev int) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for i, l := range logs {
			for last(l) != rev {
				if time.Now().After(deadline) {
					t.Fatalf("client %d is at revision %d, not %d, 90s on (server log %s)", i, last(l), rev, logFile.Name())
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}

	const changes = 9
	for rev := 1; rev <= changes; rev++ {
		set(rev)
		if rev%3 == 0 {
			// Killed as soon as the change committed: the push to the
			// listeners may not have left.
			srv.kill()
			srv.start()
			converged(rev)
		}
	}
	converged(changes)
	for i, l := range logs {
		l.mu.Lock()
		revs := slices.Clone(l.revs)
		l.mu.Unlock()
		for j := 1; j < len(revs); j++ {
			if revs[j] <= revs[j-1] {
				t.Errorf("client %d heard revisions %v: %d after %d", i, revs, revs[j], revs[j-1])
				break
			}
		}
	}
}

// adminNacosClient is a Nacos Go SDK config client of namespace
// bank.pay.dev signed in as admin, reaching Berth's HTTP API at httpAddr
// and its gRPC server at grpcAddr; it is closed when t ends.
func adminNacosClient(t *testing.T, httpAddr, grpcAddr string) config_client.IConfigClient {
	t.Helper()
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		t.Fatalf("server address %q: %v", httpAddr, err)
	}
	_, gport, _ := net.SplitHostPort(grpcAddr)
	httpPort, _ := strconv.ParseUint(port, 10, 64)
	grpcPort, _ := strconv.ParseUint(gport, 10, 64)
	cc := constant.NewClientConfig(constant.WithNamespaceId("bank.pay.dev"), constant.WithTimeoutMs(5000), constant.WithNotLoadCacheAtStart(true),
		constant.WithLogDir(t.TempDir()), constant.WithCacheDir(t.TempDir()), constant.WithUsername("admin"), constant.WithPassword(adminPassword),
		constant.WithLogLevel("error"))
	sc := constant.NewServerConfig(host, httpPort, constant.WithContextPath("/nacos"), constant.WithGrpcPort(grpcPort))
	client, err := clients.NewConfigClient(vo.NacosClientParam{ClientConfig: cc, ServerConfigs: []constant.ServerConfig{*sc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseClient)
	return client
}
