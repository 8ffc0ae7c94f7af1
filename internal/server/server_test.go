package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts s on a loopback port and returns its base URL and a function
// that begins the shutdown and waits for Serve to return.
func serve(t *testing.T, s *Server) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 5*time.Second) }()
	var once sync.Once
	var err2 error
	stop := func() error {
		once.Do(func() { cancel(); err2 = <-done })
		return err2
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestProbesMetricsAndVersion(t *testing.T) {
	var dbDown atomic.Bool
	s := New(slog.New(slog.DiscardHandler), []Check{{Name: "database", Func: func(context.Context) error {
		if dbDown.Load() {
			return errors.New("connection refused")
		}
		return nil
	}}})
	s.Handle("GET /api/v1/ping", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "pong") }))
	base, stop := serve(t, s)

	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("healthz = %d %s", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || !strings.Contains(body, `"ready"`) {
		t.Errorf("readyz = %d %s", code, body)
	}
	dbDown.Store(true)
	code, body := get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "connection refused") {
		t.Errorf("readyz with the database down = %d %s, want 503 naming the cause", code, body)
	}
	dbDown.Store(false)

	if code, body := get(t, base+"/api/v1/ping"); code != 200 || body != "pong" {
		t.Errorf("mounted handler = %d %s", code, body)
	}
	var v map[string]string
	_, body = get(t, base+"/version")
	if err := json.Unmarshal([]byte(body), &v); err != nil || v["version"] == "" || v["goVersion"] == "" {
		t.Errorf("version = %s (%v)", body, err)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`berth_http_requests_total{code="200",method="GET",route="GET /api/v1/ping"} 1`,
		`berth_http_requests_total{code="503",method="GET",route="GET /readyz"} 1`,
		"berth_http_request_duration_seconds_bucket",
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	s := New(slog.New(slog.DiscardHandler), nil)
	entered, release := make(chan struct{}), make(chan struct{})
	s.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	}))
	base, stop := serve(t, s)

	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		result <- string(b)
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// While draining, readiness is withdrawn so load balancers stop sending.
	for !s.draining.Load() {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if got := <-result; got != "finished" {
		t.Errorf("in-flight request got %q, want it to finish", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
