package change_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/change"
)

// wire is what travels between relays: every payload sent, delivered to
// every relay on it (the sender's own included, as NOTIFY does).
type wire struct {
	mu     sync.Mutex
	relays []*change.Relay
}

func (w *wire) send(_ context.Context, payloads []string) error {
	w.mu.Lock()
	relays := w.relays
	w.mu.Unlock()
	for _, p := range payloads {
		for _, r := range relays {
			r.Receive(p)
		}
	}
	return nil
}

type replica struct {
	bus     *change.Bus
	relay   *change.Relay
	mu      sync.Mutex
	heard   []change.Changed
	resyncs int
}

func (w *wire) replica(t *testing.T) *replica {
	r := &replica{bus: change.NewBus()}
	r.bus.Subscribe(func(c change.Changed) { r.mu.Lock(); r.heard = append(r.heard, c); r.mu.Unlock() }, change.Deployment, change.Audit, change.Config)
	r.relay = change.NewRelay(r.bus, w.send, func() { r.mu.Lock(); r.resyncs++; r.mu.Unlock() }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.mu.Lock()
	w.relays = append(w.relays, r.relay)
	w.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *replica) got() ([]change.Changed, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]change.Changed(nil), r.heard...), r.resyncs
}

func TestRelayDeliversEachReplicasChangesToTheOthersOnce(t *testing.T) {
	w := &wire{}
	a, b := w.replica(t), w.replica(t)
	sent := []change.Changed{
		{Kind: change.Deployment, Key: change.Key{Tenant: "bank", Project: "pay", Environment: "dev", Name: "red-auth"}},
		{Kind: change.Audit, Key: change.Key{Tenant: "bank", Name: "deploy", Seq: 42}},
		{Kind: change.Config, Key: change.Key{Tenant: "bank", Project: "pay", Environment: "dev", Name: strings.Repeat("g", 200) + "/app.yaml"}},
	}
	for _, c := range sent {
		a.bus.Publish(c)
	}
	waitFor(t, func() bool { got, _ := b.got(); return len(got) >= len(sent) })
	gotB, resyncsB := b.got()
	if diff := cmp.Diff(sent, gotB); diff != "" {
		t.Errorf("b heard (-want +got):\n%s", diff)
	}
	if gotA, _ := a.got(); len(gotA) != len(sent) {
		t.Errorf("a heard its own %d changes %d times: relayed back to it", len(sent), len(gotA))
	}
	if resyncsB != 0 {
		t.Errorf("b resynced %d times with nothing lost", resyncsB)
	}
}

func TestDecodeRefusesWhatNoRelaySent(t *testing.T) {
	for _, p := range []string{``, `{`, `[]`, `{"o":"x","c":[[0,"","","","",0]]}`, `{"o":"x","c":[[99,"","","","",0]]}`,
		`{"o":"x","c":[[1,"a"]]}`, `{"o":"x","c":[["1","","","","",0]]}`, strings.Repeat(" ", 9000)} {
		if _, _, _, err := change.Decode(p); err == nil {
			t.Errorf("Decode(%.40q) accepted it", p)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"o":"ab","r":true,"c":[[1,"bank","pay","dev","red-auth",0]]}`)
	f.Fuzz(func(t *testing.T, p string) {
		origin, cs, resync, err := change.Decode(p)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.Kind.String() == "" || strings.HasPrefix(c.Kind.String(), "Kind(") {
				t.Fatalf("decoded an unknown kind %v from %q", c.Kind, p)
			}
		}
		_, _ = origin, resync
	})
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 1000 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met within 10s")
}
