package gatewaycmd_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/gatewaycmd"
	"berth.dev/berth/internal/logtest"
)

func config(addr, prefix string) string {
	return fmt.Sprintf("routes:\n- {name: r, pathPrefix: %s, app: a}\napps:\n- {name: a, stable: {addresses: [%q]}}\n", prefix, addr)
}

func TestGatewayFromFileReloadsAndKeepsGoodConfig(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "backend ", r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	write := func(s string) {
		t.Helper()
		// A new name then rename: the poller never reads a half-written file.
		if err := os.WriteFile(path+".new", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	write(config(backend.Listener.Addr().String(), "/v1"))

	stdout, stderr := &logtest.Buffer{}, &logtest.Buffer{}
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, Getenv: func(string) string { return "" }}
	cmd := gatewaycmd.New(env)
	cmd.SetArgs([]string{"--config", path, "--listen", "127.0.0.1:0", "--admin-listen", "",
		"--access-log", "off", "--config-poll", "20ms"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v\n%s", err, stderr.String())
		}
	})

	var url string
	poll(t, "listening line", func() bool {
		_, addr, ok := strings.Cut(stdout.String(), "Berth gateway on ")
		url = "http://" + strings.TrimSpace(addr)
		return ok && strings.HasSuffix(addr, "\n")
	})
	get := func(p string) string {
		res, err := http.Get(url + p)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return fmt.Sprintf("%d %s", res.StatusCode, b)
	}
	if got := get("/v1/x"); got != "200 backend /v1/x" {
		t.Fatalf("first configuration: %q", got)
	}
	write(config(backend.Listener.Addr().String(), "/v2"))
	poll(t, "the new file to be applied", func() bool { return get("/v2/x") == "200 backend /v2/x" })

	write("routes: [{name: r, pathPrefix: nope, app: a}]\napps: []\n")
	poll(t, "the bad file to be reported", func() bool { return strings.Contains(stderr.String(), "routes[0].pathPrefix") })
	if got := get("/v2/x"); got != "200 backend /v2/x" {
		t.Errorf("after a bad file: %q, want the last good configuration", got)
	}
}

func TestGatewayNeedsExactlyOneSource(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{}, {"--config", "a", "--server", "http://b"}} {
		cmd := gatewaycmd.New(cli.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }})
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(t.Context()); err == nil || !strings.Contains(err.Error(), "exactly one") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestGatewayRejectsAnUnknownFrontEnd(t *testing.T) {
	t.Parallel()
	cmd := gatewaycmd.New(cli.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	cmd.SetArgs([]string{"--config", "a", "--http1-front-end", "fasthttp"})
	if err := cmd.ExecuteContext(t.Context()); err == nil || !strings.Contains(err.Error(), "--http1-front-end") {
		t.Errorf("unknown front end: %v, want an error naming the flag", err)
	}
}

func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
