package servercmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/logtest"
	"berth.dev/berth/internal/openapicheck"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/tlstest"
)

const adminPassword = "first-admin-password"

// start runs Serve with cfg on a loopback port until the test ends, or
// returns Serve's error when it stops at once.
func start(t *testing.T, cfg config.Config) (addr string, err error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, cfg, ln)
}

// startOn is start on a listener the test opened (to know the server's
// address before it starts).
func startOn(t *testing.T, cfg config.Config, ln net.Listener) (addr string, err error) {
	t.Helper()
	cfg.Listen = ln.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out logtest.Buffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard,
		Getenv: func(k string) string { return map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword}[k] }}
	go func() { done <- Serve(ctx, cfg, env, slog.New(slog.DiscardHandler), ln) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Berth server on") {
		select {
		case err := <-done:
			cancel()
			return "", err
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not start within 60s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), nil
}

// stopped starts a server and stops it again, for a data directory that
// a later start must find sealed.
func stopped(t *testing.T, cfg config.Config) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out logtest.Buffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard,
		Getenv: func(k string) string { return map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword}[k] }}
	go func() { done <- Serve(ctx, cfg, env, slog.New(slog.DiscardHandler), ln) }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Berth server on") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func testConfig(t *testing.T, dir string) config.Config {
	t.Helper()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Kubeconfig = filepath.Join(dir, "data"), kubeconfig
	return cfg
}

// TestSealKeyIsCheckedAtStart: the server creates its key on first start
// (as make run needs), and refuses to start with a key that cannot open
// the sealed data, with a missing key file, or with one others can read.
func TestSealKeyIsCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	stopped(t, cfg) // registers cluster "local": its kubeconfig is sealed
	keyPath := filepath.Join(cfg.DataDir, "seal.key")
	first, _, err := OpenSealer(cfg)
	if err != nil {
		t.Fatal(err)
	}

	other := cfg
	other.SealKeyFile = filepath.Join(dir, "other.key")
	_, err = start(t, other)
	if err == nil || !strings.Contains(err.Error(), "sealed under key ID "+first.KeyID()) {
		t.Fatalf("start with another key: %v; want a refusal naming key ID %s", err, first.KeyID())
	}
	if _, err := os.Stat(other.SealKeyFile); !os.IsNotExist(err) {
		t.Errorf("the refused new key file was left behind: %v", err)
	}

	if _, err := seal.CreateKey(other.SealKeyFile); err != nil {
		t.Fatal(err)
	}
	second, _, err := OpenSealer(other)
	if err != nil {
		t.Fatal(err)
	}
	_, err = start(t, other)
	if err == nil || !strings.Contains(err.Error(), "has key ID "+second.KeyID()+" but the database holds data sealed under key ID "+first.KeyID()) {
		t.Fatalf("start with another existing key: %v; want a refusal naming both key IDs", err)
	}

	// Writable by the group: refused whoever owns it (root's file may be
	// readable by its group, internal/keyfile).
	if err := os.Chmod(keyPath, 0o660); err != nil {
		t.Fatal(err)
	}
	if _, err := start(t, cfg); err == nil || !strings.Contains(err.Error(), "chmod 600 "+keyPath) {
		t.Fatalf("start with a key file of mode 0660: %v", err)
	}
	if err := os.Chmod(keyPath, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := start(t, cfg); err != nil {
		t.Fatalf("start with the right key: %v", err)
	}
}

// TestTLSServesHTTP2WithSecureCookies: with --tls-cert and --tls-key the
// console and API speak HTTP/2 over TLS and the session cookies are
// Secure; behind a trusted proxy the client address in the audit trail is
// the right-most untrusted X-Forwarded-For hop, not the spoofed left-most.
func TestTLSServesHTTP2WithSecureCookies(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	var pool *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, pool = tlstest.SelfSigned(t, dir)
	cfg.TrustedProxies = "127.0.0.1/32"
	addr, err := start(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + addr + "/api/v1"
	tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	doc, err := openapicheck.Fetch(t.Context(), &http.Client{Transport: tr}, base+"/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	// Every exchange is checked against the served OpenAPI document.
	h2 := &http.Client{Transport: &openapicheck.Transport{Doc: doc, TB: t, Base: tr}}

	login := func(password string) *http.Response {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"username": "admin", "password": password})
		req, err := http.NewRequestWithContext(t.Context(), "POST", base+"/login", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7") // left-most spoofed by the client
		resp, err := h2.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := login("wrong password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %s", resp.Status)
	}
	resp := login(adminPassword)
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("login: %s over %s; want 200 over HTTP/2", resp.Status, resp.Proto)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("no session cookies")
	}
	for _, c := range cookies {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure under TLS", c.Name)
		}
	}

	req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/audit?action=user.login", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err = h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Items []struct {
			Outcome  string `json:"outcome"`
			SourceIP string `json:"sourceIP"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list audit: %s, %v", resp.Status, err)
	}
	if len(page.Items) < 2 {
		t.Fatalf("login records: %+v", page.Items)
	}
	for _, r := range page.Items {
		if r.SourceIP != "198.51.100.7" {
			t.Errorf("a %s login recorded from %q, want the right-most untrusted hop 198.51.100.7", r.Outcome, r.SourceIP)
		}
	}
}
