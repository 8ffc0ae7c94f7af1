package servercmd

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/logtest"
	"berth.dev/berth/internal/store/pgtest"
)

// TestADatabaseOutageLongerThanTheLeaseEndsTheTermNotTheServer runs a
// server alone on a private PostgreSQL with a 2 s lease and stops the
// database. The server goes on serving: the API answers 503
// database_unavailable in the caller's language and /readyz is not ready,
// naming the database. Once no renewal succeeded for 4/5 of the lease the
// term ends (its /metrics say it no longer leads) and the server still
// serves; when the database is back the server stops with "leadership
// lost", to be started again by its supervisor, rather than before, into
// a database that is still down.
func TestADatabaseOutageLongerThanTheLeaseEndsTheTermNotTheServer(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := testConfig(t, t.TempDir())
	cfg.Database, cfg.LeaderElection, cfg.LeaseDuration = pg.URL(), "postgres", "2s"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &logtest.Buffer{}, Stderr: io.Discard,
		Getenv: func(k string) string { return map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword}[k] }}
	go func() { done <- Serve(ctx, cfg, env, slog.New(slog.DiscardHandler), ln) }()
	base := "http://" + ln.Addr().String()
	waitFor(t, "the only server to say it leads", func() bool { return readyRole(base+"/readyz") == "leader" })

	pg.Stop()
	for _, lang := range []struct{ header, want string }{
		{"en", "database is not answering"}, {"zh-CN", "数据库暂无响应"},
	} {
		status, code, msg := apiCall(t, base, lang.header)
		if status != http.StatusServiceUnavailable || code != "database_unavailable" || !strings.Contains(msg, lang.want) {
			t.Errorf("GET /api/v1/whoami (%s) with the database down: %d %s %q, want 503 database_unavailable saying %q",
				lang.header, status, code, msg, lang.want)
		}
	}
	if status, reason := readyDatabase(t, base); status != http.StatusServiceUnavailable || !strings.Contains(reason, "database does not answer") {
		t.Errorf("/readyz with the database down: %d, database check %q; want 503 saying the database does not answer", status, reason)
	}

	waitFor(t, "the term to end without renewals", func() bool { return scrape(t, base, "berth_leader") == "0" })
	select {
	case err := <-done:
		t.Fatalf("the server stopped while the database was still down: %v", err)
	default:
	}
	if status, code, _ := apiCall(t, base, "en"); status != http.StatusServiceUnavailable || code != "database_unavailable" {
		t.Errorf("after the term ended, with the database down: %d %s, want 503 database_unavailable", status, code)
	}

	pg.Start()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "leadership lost") {
			t.Fatalf("Serve once the database is back: %v, want an error saying the leadership was lost", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the database is back and the server that lost its term goes on serving")
	}
}

// apiCall asks whoami with a token the server cannot look up without its
// database, in language lang.
func apiCall(t *testing.T, base, lang string) (status int, code, message string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer berth_t_0123456789abcdef0123456789abcdef")
	req.Header.Set("Accept-Language", lang)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code, Message string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Code, body.Message
}

// readyDatabase returns /readyz's status and its database check's error.
func readyDatabase(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks []struct{ Name, Error string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	for _, c := range body.Checks {
		if c.Name == "database" {
			return resp.StatusCode, c.Error
		}
	}
	return resp.StatusCode, ""
}

// scrape returns the value of the sample named name on /metrics.
func scrape(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
