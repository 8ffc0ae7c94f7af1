package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"berth.dev/berth/internal/tlstest"
)

func TestServeTLSSpeaksHTTP2(t *testing.T) {
	certFile, keyFile, pool := tlstest.SelfSigned(t, t.TempDir())
	s := New(slog.New(slog.DiscardHandler), nil)
	s.Handle("/console/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.ServeTLS(ctx, ln, 5*time.Second, certFile, keyFile) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeTLS: %v", err)
		}
	}()

	h2 := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer h2.CloseIdleConnections()
	resp, err := h2.Get("https://" + ln.Addr().String() + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
		t.Fatalf("response over %s, handler saw %q; want HTTP/2.0", resp.Proto, body)
	}

	// Plain HTTP on the TLS port is refused.
	plain := &http.Client{}
	if resp, err := plain.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served on the TLS listener")
		}
	}
}

func TestServeTLSRefusesAMissingKey(t *testing.T) {
	certFile, _, _ := tlstest.SelfSigned(t, t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := New(slog.New(slog.DiscardHandler), nil)
	err = s.ServeTLS(t.Context(), ln, time.Second, certFile, filepath.Join(t.TempDir(), "missing.key"))
	if err == nil {
		t.Fatal("ServeTLS without a key file served")
	}
}
