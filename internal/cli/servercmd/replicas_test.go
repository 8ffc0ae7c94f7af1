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
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
)

// TestAServerThatLosesTheLeadershipStops starts a server on PostgreSQL
// with the lease election; it leads (its /readyz says so) until another
// holder takes the lease: then it stops with an error saying why, so that
// its supervisor starts it again as a follower.
func TestAServerThatLosesTheLeadershipStops(t *testing.T) {
	storetest.Postgres(t)
	database := storetest.PostgresSchema(t)
	cfg := testConfig(t, t.TempDir())
	cfg.Database, cfg.LeaderElection, cfg.LeaseDuration = database, "postgres", "2s"
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
	var out logtest.Buffer
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard,
		Getenv: func(k string) string { return map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword}[k] }}
	go func() { done <- Serve(ctx, cfg, env, slog.New(slog.DiscardHandler), ln) }()

	url := "http://" + ln.Addr().String() + "/readyz"
	deadline := time.Now().Add(time.Minute)
	for readyRole(url) != "leader" {
		if time.Now().After(deadline) {
			t.Fatal("the only server never said it leads")
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, err := store.OpenPostgres(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := st.Lease(LeaseName, "another")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Take(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "leadership lost") {
			t.Fatalf("Serve after losing the lease: %v, want an error saying the leadership was lost", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the deposed server went on serving")
	}
}

func readyRole(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var body struct{ Role string }
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return ""
	}
	return body.Role
}

func TestAServerOnSQLiteAlwaysLeads(t *testing.T) {
	addr, err := start(t, testConfig(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for readyRole("http://"+addr+"/readyz") != "leader" {
		if time.Now().After(deadline) {
			t.Fatal("a server alone on SQLite never said it leads")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
