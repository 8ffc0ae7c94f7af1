//go:build !race

// This test runs in make test's race-free pass: the Nacos Go SDK it drives
// races on its own package-level client map (see internal/api/nacos_sdk_norace_test.go).

package e2e

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
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
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		t.Fatalf("server address %q in %q: %v", httpAddr, out.String(), err)
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
	defer client.CloseClient()
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
