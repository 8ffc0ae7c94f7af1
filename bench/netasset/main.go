// Command netasset measures network assets: the node-port allocation rate
// on SQLite and PostgreSQL (one writer, then 8 at once; each allocation a
// transaction with its audit record, as an API call makes it), and the
// time to render and apply the isolation NetworkPolicies of 200 projects
// to a real local control plane.
//
//	go run ./bench/netasset -db sqlite -apps 1000
//	go run ./bench/netasset -policies -projects 200
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"berth.dev/berth/bench/internal/benchdb"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

var admin = audit.Actor{User: "bench", Roles: []string{"platform-admin"}}

func main() {
	db := flag.String("db", "sqlite", "sqlite or postgres")
	url := flag.String("url", "", "PostgreSQL URL (with -db postgres)")
	napps := flag.Int("apps", 1000, "applications exposed in the allocation figure")
	policies := flag.Bool("policies", false, "measure NetworkPolicies on a local cluster instead")
	projects := flag.Int("projects", 200, "projects in the policy figure")
	flag.Parse()
	var err error
	if *policies {
		err = runPolicies(context.Background(), *projects)
	} else {
		err = runAllocation(context.Background(), *db, *url, *napps)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/netasset:", err)
		os.Exit(1)
	}
}

func open(ctx context.Context, dir, db, url string) (*store.Store, *platform.Platform, error) {
	st, err := benchdb.Open(ctx, db, url, dir)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	if err != nil {
		return nil, nil, err
	}
	p, err := platform.New(st, platform.Options{Sealer: sealer})
	return st, p, err
}

// runAllocation exposes every application of two equal projects: the first
// one by one, the second from 8 goroutines at once.
func runAllocation(ctx context.Context, db, url string, n int) error {
	dir, err := os.MkdirTemp("", "berth-bench-netasset")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, p, err := open(ctx, dir, db, url)
	if err != nil {
		return err
	}
	defer st.Close()
	half := n / 2
	if err := seedPorts(ctx, p, half); err != nil {
		return err
	}
	serial := timeExposes(ctx, p, "seq", half, 1)
	parallel := timeExposes(ctx, p, "par", half, 8)
	if serial.err != nil || parallel.err != nil {
		return fmt.Errorf("expose: %v %v", serial.err, parallel.err)
	}
	fmt.Printf("| %s | %d | %.0f/s | %.0f/s |\n", db, n, float64(half)/serial.took.Seconds(), float64(half)/parallel.took.Seconds())
	return nil
}

type timing struct {
	took time.Duration
	err  error
}

func timeExposes(ctx context.Context, p *platform.Platform, project string, n, workers int) timing {
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				e := netasset.Exposure{Tenant: "bank", Project: project, Application: fmt.Sprintf("svc-%04d", i), Environment: "prod", PortName: "http"}
				err := p.DB.InTx(ctx, func(tx platform.Tx) error { _, err := p.Network.Expose(ctx, tx, admin, e); return err })
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	t := timing{took: time.Since(began)}
	if err, ok := firstErr.Load().(error); ok {
		t.err = err
	}
	return t
}

// seedPorts makes tenant bank with projects seq and par, each with n
// deployed applications in environment prod and half the pool's ports.
func seedPorts(ctx context.Context, p *platform.Platform, n int) error {
	return p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, admin, tenancy.Cluster{Name: "c1"}, []byte("apiVersion: v1\nkind: Config\n")); err != nil {
			return err
		}
		if _, err := p.Apps.CreateTier(ctx, tx, admin, apps.Tier{Name: "small", Resources: apps.Resources{
			Requests: resource.List{resource.CPU: resource.MilliUnits(100), resource.Memory: resource.Units(128 << 20)}}}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateTenant(ctx, tx, admin, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := p.Network.SetGrant(ctx, tx, admin, netasset.Grant{Cluster: "c1", Tenant: "bank", Ports: netasset.DefaultPool}); err != nil {
			return err
		}
		for i, pr := range []string{"seq", "par"} {
			if err := seedProject(ctx, p, tx, pr, n); err != nil {
				return err
			}
			lo := 30000 + i*1384
			g := netasset.Grant{Cluster: "c1", Tenant: "bank", Project: pr, Ports: netasset.NewPortSet(netasset.Range{Lo: lo, Hi: lo + 1383})}
			if _, err := p.Network.SetGrant(ctx, tx, admin, g); err != nil {
				return err
			}
		}
		return nil
	})
}

func seedProject(ctx context.Context, p *platform.Platform, tx platform.Tx, project string, n int) error {
	if _, err := p.Tenancy.CreateProject(ctx, tx, admin, tenancy.Project{Tenant: "bank", Name: project}); err != nil {
		return err
	}
	if _, err := p.Tenancy.CreateEnvironment(ctx, tx, admin, tenancy.Environment{Tenant: "bank", Project: project, Name: "prod",
		Cluster: "c1", Namespace: "bank-" + project}); err != nil {
		return err
	}
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		if _, err := p.Apps.CreateApplication(ctx, tx, admin, apps.Application{Tenant: "bank", Project: project, Name: name}); err != nil {
			return err
		}
		if _, err := p.Apps.CreateVersion(ctx, tx, admin, apps.Version{Tenant: "bank", Project: project, Application: name, Name: "v1",
			Image: "registry.local/" + name + ":1", Tier: "small",
			Orchestration: apps.Orchestration{Replicas: 1, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}}, apps.VersionOptions{}); err != nil {
			return err
		}
		if _, err := p.Deploy.Deploy(ctx, tx, admin, deploy.Key{Tenant: "bank", Project: project, Application: name, Environment: "prod"}, "v1"); err != nil {
			return err
		}
	}
	return nil
}

// runPolicies isolates 200 projects (10 tenants, 5 applications each, an
// allow rule per project) and times the isolation controller's reconcile
// against a local control plane: first apply (namespaces and policies
// created), a re-apply of the same state, and switching app-level
// isolation off everywhere (policies pruned).
func runPolicies(ctx context.Context, projects int) error {
	wd, _ := os.Getwd()
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "berth-bench-netpol-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lc, err := localcluster.Start(ctx, localcluster.Options{Dir: filepath.Join(dir, "cluster"), ComponentsDir: components})
	if err != nil {
		return err
	}
	defer lc.Stop()
	st, p, err := open(ctx, dir, "sqlite", "")
	if err != nil {
		return err
	}
	defer st.Close()
	kubeconfig, err := os.ReadFile(lc.Kubeconfig())
	if err != nil {
		return err
	}
	if err := seedIsolation(ctx, p, kubeconfig, projects); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := kube.NewRegistry(log, func(string, kube.AppKey) {})
	defer reg.Close()
	clusters := controller.NewClusters(p, reg, log)
	if err := clusters.Reconcile(ctx); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := reg.Ready("local"); err == nil {
			break
		} else if time.Now().After(deadline) {
			return err
		}
	}
	ctrl := controller.NewIsolation(st, p.Network, reg, log, time.Hour)
	first, inv, err := timeReconcile(ctx, ctrl)
	if err != nil {
		return err
	}
	again, _, err := timeReconcile(ctx, ctrl)
	if err != nil {
		return err
	}
	began := time.Now()
	var plan []netasset.NamespacePolicy
	if err := p.DB.View(ctx, func(tx platform.Tx) (err error) { plan, err = p.Network.Plan(ctx, tx, "local"); return err }); err != nil {
		return err
	}
	n := 0
	for _, np := range plan {
		objs, err := kube.RenderIsolation(np)
		if err != nil {
			return err
		}
		n += len(objs)
	}
	render := time.Since(began)
	if err := p.DB.InTx(ctx, func(tx platform.Tx) error { return setLevels(ctx, p, tx, projects, netasset.LevelProject) }); err != nil {
		return err
	}
	prune, after, err := timeReconcile(ctx, ctrl)
	if err != nil {
		return err
	}
	fmt.Printf("| %d projects (%d namespaces) | %d policies | plan + render %v | first apply %v | re-apply %v | app level off: %d policies left, %v |\n",
		projects, len(plan), len(inv), render.Round(time.Millisecond), first.Round(time.Millisecond), again.Round(time.Millisecond),
		len(after), prune.Round(time.Millisecond))
	if n != len(inv) {
		return fmt.Errorf("rendered %d policies, applied %d", n, len(inv))
	}
	return nil
}

func timeReconcile(ctx context.Context, ctrl *controller.Isolation) (time.Duration, kube.Inventory, error) {
	began := time.Now()
	inv, err := ctrl.Reconcile(ctx, "local")
	return time.Since(began), inv, err
}

func seedIsolation(ctx context.Context, p *platform.Platform, kubeconfig []byte, projects int) error {
	return p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, admin, tenancy.Cluster{Name: "local"}, kubeconfig); err != nil {
			return err
		}
		for i := range projects {
			tn, pr := fmt.Sprintf("t%02d", i%10), fmt.Sprintf("p%03d", i)
			if i < 10 {
				if _, err := p.Tenancy.CreateTenant(ctx, tx, admin, tenancy.Tenant{Name: tn}); err != nil {
					return err
				}
				if _, err := p.Network.SetIsolation(ctx, tx, admin, netasset.Isolation{Tenant: tn, Level: netasset.LevelTenant}); err != nil {
					return err
				}
			}
			if _, err := p.Tenancy.CreateProject(ctx, tx, admin, tenancy.Project{Tenant: tn, Name: pr}); err != nil {
				return err
			}
			if _, err := p.Tenancy.CreateEnvironment(ctx, tx, admin, tenancy.Environment{Tenant: tn, Project: pr, Name: "prod",
				Cluster: "local", Namespace: tn + "-" + pr}); err != nil {
				return err
			}
			for a := range 5 {
				if _, err := p.Apps.CreateApplication(ctx, tx, admin, apps.Application{Tenant: tn, Project: pr, Name: fmt.Sprintf("app%d", a)}); err != nil {
					return err
				}
			}
		}
		return setLevels(ctx, p, tx, projects, netasset.LevelApplication)
	})
}

// setLevels sets every project's isolation level, each with one allow rule
// from the next project's first application.
func setLevels(ctx context.Context, p *platform.Platform, tx platform.Tx, projects int, level netasset.Level) error {
	for i := range projects {
		tn, pr := fmt.Sprintf("t%02d", i%10), fmt.Sprintf("p%03d", i)
		cur, err := p.Network.GetIsolation(ctx, tx, tn, pr)
		if err != nil {
			return err
		}
		j := (i + 1) % projects
		rec := netasset.Isolation{Tenant: tn, Project: pr, Level: level, ResourceVersion: cur.ResourceVersion,
			Allow: []netasset.Allow{{From: netasset.Peer{Tenant: fmt.Sprintf("t%02d", j%10), Project: fmt.Sprintf("p%03d", j), Application: "app0"},
				To: netasset.Peer{Application: "app1"}}}}
		if _, err := p.Network.SetIsolation(ctx, tx, admin, rec); err != nil {
			return err
		}
	}
	return nil
}
