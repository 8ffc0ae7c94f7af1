package controller_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
)

// The gateway configuration reads every deployment only at start and at a
// resync; in between, each change re-reads the deployments it names. What
// it publishes after a series of changes must be what a fresh read of
// everything builds, and a gateway following the stream (a snapshot, then
// deltas) must hold it byte for byte.
func TestGatewayConfigPublishesChangesAsAFullReadWould(t *testing.T) {
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	pub := gateway.NewPublisher()
	g := controller.NewGatewayConfig(e.store, e.p.Gray.Headers(), pub, log)
	g.Subscribe(e.changes)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go g.Run(ctx, time.Hour) // no resync during the test: only changes are read

	// A gateway follows the stream over loopback HTTP, as `berth gateway
	// --server` does, resolving Services from the cluster's EndpointSlices.
	srv := httptest.NewServer(pub)
	defer srv.Close()
	w := kube.NewEndpointWatcher(e.c.Client, log)
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Options{Log: log, Resolver: w})
	sub := &gateway.Subscriber{URL: srv.URL, Client: srv.Client(), Gateway: gw, Log: log}
	subDone := make(chan error, 1)
	go func() { subDone <- sub.Run(ctx) }()
	defer func() { cancel(); <-subDone }()

	// silent is a platform on the same store whose changes reach no one.
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	silent, err := platform.New(e.store, platform.Options{Clock: clock.Real{}, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	key := func(app string) deploy.Key { k := e.key; k.Application = app; return k }
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		for _, app := range []string{"blue-pay", "green-fx"} {
			if _, err := e.p.Apps.CreateApplication(ctx, tx, alice, apps.Application{Tenant: "bank", Project: "channels", Name: app}); err != nil {
				return err
			}
			_, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: "bank", Project: "channels", Application: app,
				Name: "v1", Image: "registry.example.com/bank/" + app + ":v1", Tier: "small",
				Orchestration: apps.Orchestration{Replicas: 1, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}},
				apps.VersionOptions{})
			if err != nil {
				return err
			}
		}
		return nil
	})

	steps := []struct {
		what string
		op   func(ctx context.Context, tx platform.Tx) error
		want []string // the applications routed afterwards, as a full read sees them
	}{
		{"deploy red-auth", func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
			return err
		}, []string{"red-auth"}},
		{"deploy blue-pay and green-fx in one transaction", func(ctx context.Context, tx platform.Tx) error {
			for _, app := range []string{"blue-pay", "green-fx"} {
				if _, err := e.p.Deploy.Deploy(ctx, tx, alice, key(app), "v1"); err != nil {
					return err
				}
			}
			return nil
		}, []string{"blue-pay", "green-fx", "red-auth"}},
		{"delete red-auth", func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Deploy.Delete(ctx, tx, alice, e.key)
			return err
		}, []string{"blue-pay", "green-fx"}},
		{"move blue-pay to a version without ports", func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: "bank", Project: "channels", Application: "blue-pay",
				Name: "v2", Image: "registry.example.com/bank/blue-pay:v2", Tier: "small", Orchestration: apps.Orchestration{Replicas: 1}},
				apps.VersionOptions{})
			if err != nil {
				return err
			}
			_, err = e.p.Deploy.Deploy(ctx, tx, alice, key("blue-pay"), "v2")
			return err
		}, []string{"green-fx"}},
		{"move blue-pay back to v1 on a platform that announces nothing (another replica, its notification lost), then ChangedAll",
			func(ctx context.Context, tx platform.Tx) error {
				_, err := silent.Deploy.Deploy(ctx, tx, alice, key("blue-pay"), "v1")
				return err
			}, []string{"blue-pay", "green-fx"}},
	}
	for _, s := range steps {
		if err := e.p.Do(t.Context(), alice, audit.Event{Action: "test"}, func(tx platform.Tx) error { return s.op(t.Context(), tx) }); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if strings.HasSuffix(s.what, "ChangedAll") {
			g.ChangedAll()
		}
		full := gateway.NewPublisher()
		if err := controller.NewGatewayConfig(e.store, e.p.Gray.Headers(), full, log).Publish(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := routedApps(t, full.Current()); !slices.Equal(got, s.want) {
			t.Fatalf("after %s a full read routes %v, want %v", s.what, got, s.want)
		}
		deadline := time.Now().Add(30 * time.Second)
		for string(pub.Current()) != string(full.Current()) {
			if time.Now().After(deadline) {
				t.Fatalf("after %s the published configuration routes %v, a full read %v:\n%s\nwant\n%s",
					s.what, routedApps(t, pub.Current()), s.want, pub.Current(), full.Current())
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The gateway, having received the first configuration whole and
		// every later one as a delta, holds what the full read builds.
		for loaded(t, gw) != string(full.Current()) {
			if time.Now().After(deadline) {
				t.Fatalf("after %s the gateway holds\n%s\nwant\n%s", s.what, loaded(t, gw), full.Current())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// loaded is the JSON of the configuration gw received by units.
func loaded(t *testing.T, gw *gateway.Gateway) string {
	t.Helper()
	cfg, ok := gw.Streamed()
	if !ok {
		return ""
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// routedApps are the applications a gateway configuration routes, by the
// last part of their names (cluster/namespace/application).
func routedApps(t *testing.T, data []byte) []string {
	t.Helper()
	cfg, err := gateway.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range cfg.Apps {
		names = append(names, a.Name[strings.LastIndex(a.Name, "/")+1:])
	}
	slices.Sort(names)
	return names
}
