package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/logtest"
)

// apps returns a configuration routing path prefix /<name> to app <name>
// at addr, for each name, apps in name order as the stream has them.
func apps(addr string, names ...string) gateway.Config {
	cfg := gateway.Config{Routes: []gateway.Route{}, Apps: []gateway.App{}}
	for _, n := range names {
		cfg.Apps = append(cfg.Apps, gateway.App{Name: n, Stable: gateway.Upstream{Addresses: []string{addr}}})
		cfg.Routes = append(cfg.Routes, gateway.Route{Name: n + "#0", PathPrefix: "/" + n, App: n})
	}
	return cfg
}

// tap is a stream server in front of a Publisher that records, per
// connection, the Last-Event-ID asked for and the events written, and
// can drop an event on its way.
type tap struct {
	pub  *gateway.Publisher
	mu   sync.Mutex
	asks []string   // Last-Event-ID of each connection
	seen [][]string // event names of each connection
	drop func(conn, event int, name string) bool
}

func (tp *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		tp.pub.ServeHTTP(w, r)
		return
	}
	tp.mu.Lock()
	conn := len(tp.asks)
	tp.asks = append(tp.asks, r.Header.Get("Last-Event-ID"))
	tp.seen = append(tp.seen, nil)
	tp.mu.Unlock()
	tp.pub.ServeHTTP(&tapWriter{ResponseWriter: w, tp: tp, conn: conn}, r)
}

func (tp *tap) events() [][]string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	out := make([][]string, len(tp.seen))
	for i, s := range tp.seen {
		out[i] = append([]string(nil), s...)
	}
	return out
}

// tapWriter sees each event as one Write (the publisher writes them so).
type tapWriter struct {
	http.ResponseWriter
	tp   *tap
	conn int
}

func (w *tapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *tapWriter) Write(b []byte) (int, error) {
	name, ok := bytes.CutPrefix(b, []byte("event: "))
	if !ok {
		return w.ResponseWriter.Write(b)
	}
	name = name[:bytes.IndexByte(name, '\n')]
	w.tp.mu.Lock()
	i := len(w.tp.seen[w.conn])
	w.tp.seen[w.conn] = append(w.tp.seen[w.conn], string(name))
	drop := w.tp.drop != nil && w.tp.drop(w.conn, i, string(name))
	w.tp.mu.Unlock()
	if drop {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// streamedGateway runs a gateway fed by tp's stream (version 2) and
// returns it with the subscriber's log.
func streamedGateway(t *testing.T, tp *tap) (*harness, *logtest.Buffer) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/gateway/config", tp)
	mux.Handle("/gateway/config/applied", tp.pub)
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	h := startGateway(t, nil)
	log := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	sub := &gateway.Subscriber{URL: server.URL + "/gateway/config", Client: &http.Client{}, Gateway: h.gw,
		Log: slog.New(slog.NewTextHandler(log, nil)), MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h, log
}

// holds reports whether the gateway's configuration in force is cfg, byte
// for byte as the test encodes cfg.
func holds(t *testing.T, gw *gateway.Gateway, cfg gateway.Config) bool {
	t.Helper()
	got, ok := gw.Streamed()
	if !ok {
		return false
	}
	a, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(a, b)
}

// TestDeltasAppliedInSequenceEqualAFreshFullRead publishes a series of
// configurations; the gateway receives the first whole and each next one
// as a delta, and after each holds, byte for byte, what a fresh full read
// of the publisher gives, and routes by it.
func TestDeltasAppliedInSequenceEqualAFreshFullRead(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tp := &tap{pub: gateway.NewPublisher()}
	tp.pub.AckWait = time.Hour
	h, _ := streamedGateway(t, tp)

	twoRoutes := apps(a.addr(), "app-01", "app-02", "app-03")
	twoRoutes.Routes = append(twoRoutes.Routes[:2], gateway.Route{Name: "app-02#1", PathPrefix: "/second", App: "app-02"}, twoRoutes.Routes[2])
	moved := apps(a.addr(), "app-01", "app-02", "app-03")
	moved.Apps[0].Stable.Addresses = []string{b.addr()}
	moved.Routes[0].Policy.Retries = 2
	steps := []struct {
		what string
		cfg  gateway.Config
		path string // answered by
		by   string
	}{
		{"the first configuration", apps(a.addr(), "app-01", "app-02"), "/app-02", "a"},
		{"an app added", apps(a.addr(), "app-01", "app-02", "app-03"), "/app-03", "a"},
		{"an app's upstream and policy changed", moved, "/app-01", "b"},
		{"a second route for an app", twoRoutes, "/second", "a"},
		{"an app deleted", apps(a.addr(), "app-02", "app-03"), "/app-01", ""},
		{"every app deleted", apps(a.addr()), "/app-02", ""},
		{"apps again", apps(b.addr(), "app-00", "app-04"), "/app-04", "b"},
	}
	for _, s := range steps {
		if err := tp.pub.Publish(s.cfg); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		eventually(t, s.what+" applied", func() bool { return holds(t, h.gw, s.cfg) })
		eventually(t, s.what+" reported applied", tp.pub.Delivered)
		full := gateway.NewPublisher()
		if err := full.Publish(s.cfg); err != nil {
			t.Fatal(err)
		}
		if got, _ := h.gw.Streamed(); !bytes.Equal(mustJSON(t, got), full.Current()) || !bytes.Equal(tp.pub.Current(), full.Current()) {
			t.Fatalf("after %s the gateway's configuration differs from a fresh full read:\n%s\nwant\n%s", s.what, mustJSON(t, got), full.Current())
		}
		want := 404
		if s.by != "" {
			want = 200
		}
		if got := h.get(t, s.path, nil); got.code != want || s.by != "" && !strings.HasPrefix(got.body, s.by+" ") {
			t.Fatalf("after %s GET %s: %d %q, want %d from %q", s.what, s.path, got.code, got.body, want, s.by)
		}
	}
	want := []string{"snapshot"}
	for range steps[1:] {
		want = append(want, "delta")
	}
	if got := tp.events(); len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("events per connection %v, want one connection with %v", got, want)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAGapInTheStreamBringsTheWholeConfiguration loses a delta on its
// way: the gateway keeps what it has until the next delta, which does not
// apply to it, then reconnects without Last-Event-ID and receives a
// snapshot.
func TestAGapInTheStreamBringsTheWholeConfiguration(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	tp := &tap{pub: gateway.NewPublisher()}
	tp.drop = func(conn, event int, name string) bool { return conn == 0 && event == 2 }
	tp.pub.AckWait = time.Hour
	h, log := streamedGateway(t, tp)

	one, two, three := apps(a.addr(), "app-01"), apps(a.addr(), "app-01", "app-02"), apps(a.addr(), "app-01", "app-02", "app-03")
	if err := tp.pub.Publish(one); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the snapshot applied", func() bool { return holds(t, h.gw, one) })
	if err := tp.pub.Publish(two); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first delta applied", func() bool { return holds(t, h.gw, two) })
	if err := tp.pub.Publish(three); err != nil { // its delta is dropped
		t.Fatal(err)
	}
	eventually(t, "the second delta written", func() bool { return len(tp.events()[0]) == 3 })
	if !holds(t, h.gw, two) || tp.pub.Delivered() {
		t.Fatal("the gateway moved on without the dropped delta, or reported it applied")
	}
	if got := h.get(t, "/app-02", nil); got.code != 200 {
		t.Fatalf("the last good configuration is not served: %d %q", got.code, got.body)
	}
	four := apps(a.addr(), "app-01", "app-02", "app-03", "app-04")
	if err := tp.pub.Publish(four); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the whole configuration after the gap", func() bool { return holds(t, h.gw, four) })
	eventually(t, "the configuration after the gap reported applied", tp.pub.Delivered)
	events := tp.events()
	if len(events) != 2 || events[1][0] != "snapshot" || tp.asks[1] != "" {
		t.Fatalf("connections asked for %q and got %v: want a second connection without Last-Event-ID starting with a snapshot", tp.asks, events)
	}
	if !strings.Contains(log.String(), "does not apply to the configuration in force") {
		t.Fatalf("the gap was not logged:\n%s", log.String())
	}
}

// TestABadDeltaKeepsServingTheLastGoodConfiguration sends a change the
// gateway cannot build (a Service upstream, and this gateway has no
// Kubernetes access): it keeps routing by the last good configuration,
// asks for the whole configuration, and takes the next good one.
func TestABadDeltaKeepsServingTheLastGoodConfiguration(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	tp := &tap{pub: gateway.NewPublisher()}
	tp.pub.AckWait = time.Hour
	h, log := streamedGateway(t, tp)

	good := apps(a.addr(), "app-01", "app-02")
	if err := tp.pub.Publish(good); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the good configuration applied", func() bool { return holds(t, h.gw, good) })
	bad := apps(b.addr(), "app-01", "app-02", "app-03")
	bad.Apps[2].Stable = gateway.Upstream{Service: &gateway.ServiceRef{Namespace: "bank", Name: "app-03", Port: "http"}}
	if err := tp.pub.Publish(bad); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the bad change rejected", func() bool { return strings.Contains(log.String(), "no Kubernetes access") })
	for range 5 {
		if got := h.get(t, "/app-01", nil); !strings.HasPrefix(got.body, "a ") {
			t.Fatalf("after a bad change GET /app-01: %d %q, want the last good configuration's answer", got.code, got.body)
		}
	}
	if !holds(t, h.gw, good) {
		t.Fatal("after a bad change the gateway does not hold the last good configuration")
	}
	fixed := apps(b.addr(), "app-01", "app-02", "app-03")
	if err := tp.pub.Publish(fixed); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the next good configuration applied", func() bool { return holds(t, h.gw, fixed) })
	if got := h.get(t, "/app-03", nil); !strings.HasPrefix(got.body, "b ") {
		t.Fatalf("GET /app-03: %d %q", got.code, got.body)
	}
}

// TestReconnectingCatchesUpByDeltasOrASnapshot: a client that names a
// configuration the publisher still has deltas from gets them; one that
// names another gets a snapshot; a version 1 client gets the whole
// configuration; an unknown version is refused by name.
func TestReconnectingCatchesUpByDeltasOrASnapshot(t *testing.T) {
	t.Parallel()
	pub := gateway.NewPublisher()
	server := httptest.NewServer(pub)
	t.Cleanup(server.Close)
	first := firstEvents(t, server.URL, "2", "", 0)
	if err := pub.Publish(apps("127.0.0.1:1", "app-01")); err != nil {
		t.Fatal(err)
	}
	snap := firstEvents(t, server.URL, "2", "", 1)
	for _, n := range []string{"app-02", "app-03"} {
		if err := pub.Publish(apps("127.0.0.1:1", "app-01", n)); err != nil {
			t.Fatal(err)
		}
	}
	if len(first) != 0 || snap[0].Name != "snapshot" {
		t.Fatalf("before any publication %v, after the first %v", first, snap)
	}
	if got := firstEvents(t, server.URL, "2", snap[0].ID, 2); got[0].Name != "delta" || got[1].Name != "delta" {
		t.Fatalf("from the first configuration: %v, want two deltas", got)
	}
	if got := firstEvents(t, server.URL, "2", "not-a-configuration", 1); got[0].Name != "snapshot" {
		t.Fatalf("from an unknown configuration: %v, want a snapshot", got)
	}
	if got := firstEvents(t, server.URL, "", snap[0].ID, 1); got[0].Name != "config" || got[0].Data != string(pub.Current()) {
		t.Fatalf("version 1: %v, want the whole configuration", got)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, server.URL, nil)
	req.Header.Set(gateway.StreamHeader, "3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "version 3") {
		t.Fatalf("version 3: %d %q, want 400 naming it", res.StatusCode, body)
	}
}

// firstEvents reads n events of the stream at url (version v, from
// Last-Event-ID last); with n 0 it checks that none comes at once.
func firstEvents(t *testing.T, url, v, last string, n int) []gateway.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	if n == 0 {
		cancel()
		ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	}
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if v != "" {
		req.Header.Set(gateway.StreamHeader, v)
	}
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got []gateway.Event
	_ = gateway.ReadEvents(bufio.NewReader(res.Body), func() {}, func(ev gateway.Event) {
		if got = append(got, ev); len(got) == n {
			cancel()
		}
	})
	if len(got) != n {
		t.Fatalf("read %d events %v, want %d", len(got), got, n)
	}
	return got
}
