package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
)

// replica is one server's gateway stream on the shared PostgreSQL
// database: its publisher, recording its gateways in the database, served
// over HTTP as `berth server` serves it.
type replica struct {
	pub *gateway.Publisher
	url string
}

func newReplica(t *testing.T, database string) replica {
	t.Helper()
	st, err := store.OpenPostgres(t.Context(), database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pub := gateway.NewPublisher()
	pub.AckWait = time.Hour // only an acknowledgement or a disconnection ends the wait here
	pub.Share(st)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pub.RunLedger(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() { cancel(); <-done })
	mux := http.NewServeMux()
	mux.Handle("/gateway/config", pub)
	mux.Handle("/gateway/config/applied", pub)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return replica{pub: pub, url: srv.URL + "/gateway/config"}
}

// TestLeaderWaitsForAGatewayOfAnotherReplica runs two replicas' gateway
// streams on one PostgreSQL database, each publishing the configuration
// it builds from the same state, and a gateway connected to the follower
// only. The leader's Delivered, which the gray plan controller waits for
// before removing a version's pods, is false until that gateway reports
// the configuration applied, and once it disconnects it no longer counts.
func TestLeaderWaitsForAGatewayOfAnotherReplica(t *testing.T) {
	storetest.Postgres(t) // fails the test when the server is unreachable
	database := storetest.PostgresSchema(t)
	leader, follower := newReplica(t, database), newReplica(t, database)
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	publish := func(cfg gateway.Config) {
		t.Helper()
		for _, r := range []replica{leader, follower} {
			if err := r.pub.Publish(cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(simple(a.addr(), ""))

	type applying struct{ answer chan error }
	applies := make(chan applying)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	sub := &gateway.Subscriber{URL: follower.url, Client: &http.Client{}, ID: "gw-on-follower",
		Apply: func(gateway.Config) error { // held until the test answers
			ap := applying{answer: make(chan error, 1)}
			select {
			case applies <- ap:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case err := <-ap.answer:
				return err
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 20 * time.Millisecond}
	go func() { done <- sub.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	t.Cleanup(stop)

	// The gateway holds the first configuration: the follower has recorded
	// it connected and behind, so the leader waits.
	first := <-applies
	eventually(t, "the leader to wait for the follower's gateway", func() bool { return !leader.pub.Delivered() })
	if follower.pub.Delivered() {
		t.Fatal("the follower's Delivered is true while its gateway has not applied")
	}
	if g := oneDelivery(t, leader.pub); g.Local || g.Subscriber != "gw-on-follower" || g.Current || g.Applied != "" {
		t.Fatalf("the leader lists %+v; want the follower's gateway with nothing in force yet", g)
	}
	first.answer <- nil
	eventually(t, "the leader to see the follower's gateway applied", leader.pub.Delivered)
	if g := oneDelivery(t, leader.pub); g.Local || !g.Current {
		t.Fatalf("the leader lists %+v; want the follower's gateway current", g)
	}
	if g := oneDelivery(t, follower.pub); !g.Local || !g.Current {
		t.Fatalf("the follower lists %+v; want its own gateway current", g)
	}

	// A new configuration: the gateway is behind it until it reports it.
	held := func(cfg gateway.Config) applying {
		t.Helper()
		publish(cfg)
		ap := <-applies
		if leader.pub.Delivered() {
			t.Fatal("the leader's Delivered is true while the follower's gateway has the previous configuration in force")
		}
		return ap
	}
	held(simple(b.addr(), "")).answer <- nil
	eventually(t, "the leader to see the second configuration applied", leader.pub.Delivered)

	// The gateway rejects the third (keeping the second) and disconnects:
	// it stops counting.
	held(simple(c.addr(), "")).answer <- errors.New("rejected by the gateway")
	if leader.pub.Delivered() {
		t.Fatal("the leader's Delivered is true while the follower's gateway rejected the configuration")
	}
	stop()
	eventually(t, "the disconnected gateway to stop counting", leader.pub.Delivered)
}

// oneDelivery returns the one gateway p's Deliveries lists.
func oneDelivery(t *testing.T, p *gateway.Publisher) gateway.Delivery {
	t.Helper()
	d, err := p.Deliveries(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Gateways) != 1 {
		t.Fatalf("%d gateways listed, want 1: %+v", len(d.Gateways), d)
	}
	return d.Gateways[0]
}
