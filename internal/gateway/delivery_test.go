package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/logtest"
)

// TestDeliveredWaitsForEveryConnectedGatewayToApply checks the handshake
// the gray plan controller relies on before removing a version's pods: a
// published configuration counts as delivered only once every connected
// gateway has put it in force and said so, or AckWait has passed.
func TestDeliveredWaitsForEveryConnectedGatewayToApply(t *testing.T) {
	t.Parallel()
	a, b := newBackend(t, "a"), newBackend(t, "b")
	pub := gateway.NewPublisher()
	pub.AckWait = time.Hour
	mux := http.NewServeMux()
	mux.Handle("/gateway/config", pub)
	mux.Handle("/gateway/config/applied", pub)
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)

	if !pub.Delivered() {
		t.Fatal("nothing published yet, but Delivered is false")
	}
	received := make(chan struct{}, 8)
	gate := make(chan struct{})
	applied := 0
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	sub := &gateway.Subscriber{
		URL: server.URL + "/gateway/config", Client: &http.Client{},
		Apply: func(gateway.Config) error {
			applied++
			received <- struct{}{}
			if applied == 2 { // hold the second configuration until told
				<-gate
			}
			return nil
		},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 20 * time.Millisecond,
	}
	go func() { done <- sub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	if err := pub.Publish(simple(a.addr(), "")); err != nil {
		t.Fatal(err)
	}
	<-received
	eventually(t, "the first configuration reported applied", pub.Delivered)

	if err := pub.Publish(simple(b.addr(), "")); err != nil {
		t.Fatal(err)
	}
	<-received
	if pub.Delivered() {
		t.Fatal("Delivered while the gateway has not applied the new configuration")
	}
	close(gate)
	eventually(t, "the second configuration reported applied", pub.Delivered)

	// A report of an older configuration, or from a subscriber that is not
	// streaming, does not count for the current one.
	if err := pub.Publish(simple(a.addr(), b.addr())); err != nil {
		t.Fatal(err)
	}
	<-received
	eventually(t, "the third configuration reported applied", pub.Delivered)
	pub.Applied("not-connected", "0")
	if !pub.Delivered() {
		t.Fatal("a report from an unknown subscriber changed Delivered")
	}
}

// stuckGateway runs a publisher (AckWait 300 ms) and one gateway that
// takes every configuration, says so on got, and never applies it.
func stuckGateway(t *testing.T) (*backend, *gateway.Publisher, <-chan struct{}) {
	a := newBackend(t, "a")
	pub := gateway.NewPublisher()
	pub.AckWait = 300 * time.Millisecond
	server := httptest.NewServer(pub)
	t.Cleanup(server.Close)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	got := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	sub := &gateway.Subscriber{URL: server.URL, Client: &http.Client{},
		Apply: func(gateway.Config) error { got <- struct{}{}; <-stuck; return nil },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))}
	go func() { _ = sub.Run(ctx) }()
	return a, pub, got
}

// TestDeliveredStopsWaitingForAStuckGatewayAfterAckWait checks that a
// gateway that never applies does not hold the platform forever.
func TestDeliveredStopsWaitingForAStuckGatewayAfterAckWait(t *testing.T) {
	t.Parallel()
	a, pub, got := stuckGateway(t)
	if err := pub.Publish(simple(a.addr(), "")); err != nil {
		t.Fatal(err)
	}
	<-got // the subscriber holds it, never reporting it applied
	eventually(t, "AckWait to pass", pub.Delivered)
}

// TestDeliveredStopsWaitingForAStuckGatewayWhilePublicationsContinue: the
// wait for a gateway that applies nothing counts from when it fell behind,
// not from the latest publication — or a platform publishing more often
// than AckWait would wait for a stuck gateway forever.
func TestDeliveredStopsWaitingForAStuckGatewayWhilePublicationsContinue(t *testing.T) {
	t.Parallel()
	a, pub, got := stuckGateway(t)
	publish := func(i int) {
		cfg := simple(a.addr(), "", func(c *gateway.Config) { c.Routes[0].PathPrefix = fmt.Sprintf("/%d", i) })
		if err := pub.Publish(cfg); err != nil {
			t.Error(err)
		}
	}
	publish(0)
	<-got // the subscriber holds it, never reporting it applied
	if pub.Delivered() {
		t.Fatal("Delivered before the stuck gateway applied or AckWait passed")
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				publish(i)
			}
		}
	}()
	eventually(t, "AckWait to pass although publications continue", pub.Delivered)
	close(stop)
	<-done
}

// TestASlowReportDoesNotHoldBackTheNextConfiguration: a gateway reports
// what it applied on the side; while the server has not answered a report,
// the next configuration is still taken and put in force at once, and only
// the newest unreported configuration is reported next.
func TestASlowReportDoesNotHoldBackTheNextConfiguration(t *testing.T) {
	t.Parallel()
	a := newBackend(t, "a")
	pub := gateway.NewPublisher()
	pub.AckWait = time.Hour
	release := make(chan struct{})
	abandoned := make(chan string, 8) // reports the gateway gave up on
	reported := make(chan string, 8)  // reports answered
	first := true
	mux := http.NewServeMux()
	mux.Handle("GET /gateway/config", pub)
	mux.HandleFunc("POST /gateway/config/applied", func(w http.ResponseWriter, r *http.Request) {
		var rep gateway.AppliedReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if first { // the first report hangs until the test lets it go
			first = false
			select {
			case <-release:
			case <-r.Context().Done():
				abandoned <- rep.ID
				return
			}
		}
		pub.Applied(rep.Subscriber, rep.ID)
		reported <- rep.ID
		w.WriteHeader(http.StatusNoContent)
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	applied := make(chan string, 8)
	log := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	sub := &gateway.Subscriber{URL: server.URL + "/gateway/config", Client: &http.Client{},
		Apply: func(c gateway.Config) error { applied <- c.Routes[0].PathPrefix; return nil },
		Log:   slog.New(slog.NewTextHandler(log, nil))}
	go func() { _ = sub.Run(ctx) }()

	publish := func(prefix string) {
		t.Helper()
		if err := pub.Publish(simple(a.addr(), "", func(c *gateway.Config) { c.Routes[0].PathPrefix = prefix })); err != nil {
			t.Fatal(err)
		}
	}
	publish("/1")
	if got := <-applied; got != "/1" {
		t.Fatalf("applied %s first, want /1", got)
	}
	publish("/2")
	publish("/3")
	// /3 is put in force (perhaps /2 before it) while the report of /1
	// hangs: the report never held the stream back until it gave up.
	for got := ""; got != "/3"; {
		got = <-applied
	}
	if strings.Contains(log.String(), "report configuration applied") {
		t.Fatalf("the gateway gave up a report before taking the next configuration:\n%s", log.String())
	}
	close(release)
	select {
	case <-reported:
	case id := <-abandoned:
		t.Fatalf("report of %s abandoned", id)
	}
	eventually(t, "the newest configuration reported applied", pub.Delivered)
}
