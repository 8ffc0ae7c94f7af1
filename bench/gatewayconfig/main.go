// Command gatewayconfig measures how long a deployment change takes to
// reach a Berth gateway's routing table when the gateway already routes
// -routes applications: from the transaction that deploys an application
// starting, through its commit, the change event, the server rebuilding
// the gateway configuration and streaming it, to a gateway.Subscriber
// (the code `berth gateway` runs) having loaded a configuration that
// routes the new application. The engine is assembled by engine.New as
// `berth server` assembles it, over a SQLite (or PostgreSQL) store, with a
// local control plane registered as the environment's cluster; only the
// gateway configuration's loop runs; the gateway follows the cluster's
// EndpointSlices as `berth gateway --kubeconfig` does.
//
//	go run ./bench/gatewayconfig -routes 10000 -changes 100
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"berth.dev/berth/bench/internal/benchdb"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/tenancy"
)

var (
	profile     string
	wholeStream = flag.Bool("whole", false, "follow the stream's version 1 (a whole configuration per change), as gateways before ADR 0022")
)

var admin = audit.Actor{User: "bench", Roles: []string{"platform-admin"}}

func main() {
	db := flag.String("db", "sqlite", "sqlite or postgres")
	url := flag.String("url", "", "PostgreSQL URL (with -db postgres; its tables must be empty)")
	routes := flag.Int("routes", 10000, "applications the gateway routes before the measurement")
	changes := flag.Int("changes", 100, "applications deployed one after another while measuring")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured changes to this file")
	flag.Parse()
	profile = *cpuprofile
	if err := run(context.Background(), *db, *url, *routes, *changes); err != nil {
		fmt.Fprintln(os.Stderr, "bench/gatewayconfig:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, db, url string, routes, changes int) error {
	dir, err := os.MkdirTemp("", "berth-bench-gatewayconfig")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := benchdb.Open(ctx, db, url, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, err := engine.New(st, engine.Options{Log: log, Sealer: sealer})
	if err != nil {
		return err
	}
	p := eng.Platform
	c, err := startCluster(ctx, dir)
	if err != nil {
		return err
	}
	defer c.Stop()
	kubeconfig, err := os.ReadFile(c.Kubeconfig())
	if err != nil {
		return err
	}
	if err := seed(ctx, p, kubeconfig, routes+changes); err != nil {
		return err
	}
	start := time.Now()
	if err := deployRange(ctx, p, 0, routes); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded %d deployments in %s\n", routes, time.Since(start).Round(time.Millisecond))

	// The server's stream, and a gateway following it as `berth gateway` does.
	srv := httptest.NewServer(eng.Gateway)
	defer srv.Close()
	w, err := kube.NewEndpointWatcherForKubeconfig(c.Kubeconfig(), log)
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	gw := gateway.New(gateway.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Resolver: w})
	loaded := newWatch()
	sub := &gateway.Subscriber{URL: srv.URL, Client: srv.Client(), Gateway: gw, Log: log,
		Applied: func(string) { _, apps := gw.Loaded(); loaded.saw(apps) }}
	if *wholeStream {
		sub.Gateway, sub.Applied = nil, nil
		sub.Apply = func(c gateway.Config) error {
			if _, err := gw.Load(c); err != nil {
				return err
			}
			loaded.saw(len(c.Apps))
			return nil
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = sub.Run(ctx) }()

	start = time.Now()
	go eng.GatewayConfig.Run(ctx, engine.GatewayConfigEvery)
	if err := loaded.wait(ctx, routes); err != nil {
		return err
	}
	first := time.Since(start)

	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var lat []time.Duration
	for i := routes; i < routes+changes; i++ {
		start := time.Now()
		if err := deployRange(ctx, p, i, i+1); err != nil {
			return err
		}
		if err := loaded.wait(ctx, i+1); err != nil {
			return err
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	fmt.Println("| database | routes | first configuration | changes | p50 | p99 | max |")
	fmt.Println("|---|---|---|---|---|---|---|")
	fmt.Printf("| %s | %d | %s | %d | %s | %s | %s |\n", db, routes, first.Round(time.Millisecond), changes, pct(0.5), pct(0.99), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}

// watch tracks how many applications the gateway's last loaded
// configuration routes.
type watch struct {
	mu   sync.Mutex
	apps int
	more chan struct{}
}

func newWatch() *watch { return &watch{more: make(chan struct{})} }

func (w *watch) saw(apps int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.apps = apps
	close(w.more)
	w.more = make(chan struct{})
}

// wait returns once the gateway routes at least n applications.
func (w *watch) wait(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for {
		w.mu.Lock()
		got, more := w.apps, w.more
		w.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-more:
		case <-ctx.Done():
			return fmt.Errorf("gateway routes %d applications, want %d: %w", got, n, ctx.Err())
		}
	}
}

func appName(i int) string { return fmt.Sprintf("app-%06d", i) }

// startCluster starts a local control plane under dir: registering a
// cluster and an environment checks them there.
func startCluster(ctx context.Context, dir string) (*localcluster.Cluster, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		return nil, err
	}
	return localcluster.Start(ctx, localcluster.Options{Dir: filepath.Join(dir, "cluster"), ComponentsDir: components, Nodes: 1})
}

// seed creates tenant bank, project pay with environment prod (traffic
// through the Berth gateway) on the cluster of kubeconfig, and n applications,
// each with a version v1, 500 per transaction.
func seed(ctx context.Context, p *platform.Platform, kubeconfig []byte, n int) error {
	err := p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(ctx, tx, admin, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(ctx, tx, admin, tenancy.Project{Tenant: "bank", Name: "pay"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, admin, tenancy.Cluster{Name: "local"}, kubeconfig); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateEnvironment(ctx, tx, admin, tenancy.Environment{Tenant: "bank", Project: "pay", Name: "prod",
			Cluster: "local", Namespace: "pay-prod", Traffic: tenancy.TrafficGateway}); err != nil {
			return err
		}
		_, err := p.Apps.CreateTier(ctx, tx, admin, apps.Tier{Name: "small", Resources: apps.Resources{
			Requests: resource.List{resource.CPU: resource.MilliUnits(1), resource.Memory: resource.Units(1 << 20)}}})
		return err
	})
	if err != nil {
		return err
	}
	for start := 0; start < n; start += 500 {
		err := p.DB.InTx(ctx, func(tx platform.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				if _, err := p.Apps.CreateApplication(ctx, tx, admin, apps.Application{Tenant: "bank", Project: "pay", Name: appName(i)}); err != nil {
					return err
				}
				_, err := p.Apps.CreateVersion(ctx, tx, admin, apps.Version{Tenant: "bank", Project: "pay", Application: appName(i),
					Name: "v1", Image: "registry.example.com/bank/app:v1", Tier: "small",
					Orchestration: apps.Orchestration{Replicas: 1, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}},
					apps.VersionOptions{})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed applications from %d: %w", start, err)
		}
	}
	return nil
}

// deployRange deploys v1 of applications [from, to), 500 per transaction,
// through the application layer (change events published after commit).
func deployRange(ctx context.Context, p *platform.Platform, from, to int) error {
	for start := from; start < to; start += 500 {
		err := p.Do(ctx, admin, audit.Event{Action: "bench.deploy"}, func(tx platform.Tx) error {
			for i := start; i < min(start+500, to); i++ {
				k := deploy.Key{Tenant: "bank", Project: "pay", Environment: "prod", Application: appName(i)}
				if _, err := p.Deploy.Deploy(ctx, tx, admin, k, "v1"); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return errors.Join(fmt.Errorf("deploy applications from %d", start), err)
		}
	}
	return nil
}
