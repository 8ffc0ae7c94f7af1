package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"berth.dev/berth/bench/internal/engine"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/tenancy"
)

// planLatency measures, for an environment whose traffic provider is
// provider, the time from a gray plan change committed as the API commits it
// (gray.Service.Set in one transaction) to a watch on the provider's route
// object delivering the object that routes by the change: the Berth engine's
// gray controller renders and applies it in between.
func planLatency(ctx context.Context, c *localcluster.Cluster, provider string, changes int, pause time.Duration) ([]time.Duration, error) {
	dir, err := os.MkdirTemp("", "berth-bench-plan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ns := "plan-" + provider
	e, err := engine.Start(ctx, filepath.Join(dir, "engine"), c, "mesh", ns, nil)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	k := deploy.Key{Tenant: "bank", Project: "channels", Application: "pay", Environment: "mesh"}
	if err := planFixture(ctx, e, k, provider); err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return nil, err
	}
	res := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	if provider == tenancy.TrafficGatewayAPI {
		res = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	}
	routes := dyn.Resource(res).Namespace(ns)
	// The plan's route at step 0 sends 90 % of the rest to stable.
	if _, err := watchFor(ctx, routes, `"weight":90`, func() error { return nil }); err != nil {
		return nil, fmt.Errorf("%s route never appeared: %w", provider, err)
	}
	var out, commits []time.Duration
	defer func() {
		slices.Sort(commits)
		if len(commits) > 0 {
			fmt.Fprintf(os.Stderr, "%s: the plan change's own transaction took p50 %v, max %v\n", provider, commits[len(commits)/2], commits[len(commits)-1])
		}
	}()
	for i := range changes {
		// A person changes a plan now and then, not in a tight loop: let
		// the cluster client's rate limiter (QPS 100) refill between changes.
		time.Sleep(pause)
		step, want := (i+1)%2, `"weight":90`
		if step == 1 {
			want = `"weight":80`
		}
		d, err := watchFor(ctx, routes, want, func() error {
			t0 := time.Now()
			defer func() { commits = append(commits, time.Since(t0)) }()
			return e.Platform.Do(ctx, engine.Admin, audit.Event{Action: "grayplan.set"}, func(tx platform.Tx) error {
				_, err := e.Platform.Gray.Set(ctx, tx, engine.Admin, k, gray.Change{Step: &step})
				return err
			})
		})
		if err != nil {
			return nil, fmt.Errorf("change %d never reached the %s route: %w", i, provider, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// planFixture runs application pay v1 in an environment using provider and
// starts a plan for v2 whose two steps send 10 % and 20 % of the rest to it.
func planFixture(ctx context.Context, e *engine.Engine, k deploy.Key, provider string) error {
	err := e.Platform.Do(ctx, engine.Admin, audit.Event{Action: "bench.setup"}, func(tx platform.Tx) error {
		env, err := tx.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment)
		if err != nil {
			return err
		}
		env.Traffic = provider
		if provider == tenancy.TrafficGatewayAPI {
			env.Gateway = "bank-edge"
		}
		if _, err := e.Platform.Tenancy.UpdateEnvironment(ctx, tx, engine.Admin, env); err != nil {
			return err
		}
		if _, err := e.Platform.Apps.CreateApplication(ctx, tx, engine.Admin, apps.Application{Tenant: k.Tenant, Project: k.Project, Name: k.Application}); err != nil {
			return err
		}
		for _, v := range []string{"v1", "v2"} {
			_, err := e.Platform.Apps.CreateVersion(ctx, tx, engine.Admin, apps.Version{Tenant: k.Tenant, Project: k.Project, Application: k.Application,
				Name: v, Image: "registry.example.com/bank/pay:" + v, Tier: "small",
				Orchestration: apps.Orchestration{Replicas: 1, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}}, apps.VersionOptions{})
			if err != nil {
				return err
			}
		}
		_, err = e.Platform.Deploy.Deploy(ctx, tx, engine.Admin, k, "v1")
		return err
	})
	if err != nil {
		return err
	}
	env := tenancy.Environment{}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		conn, err := e.Clusters.Get("local")
		if err != nil {
			return false, nil
		}
		if env.Namespace == "" {
			if err := e.Platform.DB.View(ctx, func(tx platform.Tx) (err error) {
				env, err = tx.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment)
				return err
			}); err != nil {
				return false, err
			}
		}
		return conn.Status(kube.AppKey{Namespace: env.Namespace, App: k.Application}).Phase == kube.PhaseRunning, nil
	})
	if err != nil {
		return fmt.Errorf("v1 never ran: %w", err)
	}
	err = e.Platform.Do(ctx, engine.Admin, audit.Event{Action: "bench.plan"}, func(tx platform.Tx) error {
		_, err := e.Platform.Gray.Start(ctx, tx, engine.Admin, gray.Plan{Tenant: k.Tenant, Project: k.Project, Application: k.Application,
			Environment: k.Environment, GrayVersion: "v2",
			Steps: []gray.Step{{Tellers: []string{"T0001"}, Weight: 10}, {Tellers: []string{"T0001"}, Weight: 20}}})
		return err
	})
	if err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var p gray.Plan
		err := e.Platform.DB.View(ctx, func(tx platform.Tx) (err error) {
			p, err = tx.GetPlan(ctx, k)
			return err
		})
		return err == nil && slices.Equal(p.Applied.Serving, []string{"v1", "v2"}), nil
	})
}

// watchFor opens a watch on the route object, then runs act, and returns
// the time from just before act to the watch delivering an object whose
// JSON contains want.
func watchFor(ctx context.Context, routes dynamic.ResourceInterface, want string, act func() error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	w, err := routes.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=pay"})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	start := time.Now()
	if err := act(); err != nil {
		return 0, err
	}
	for ev := range w.ResultChan() {
		obj, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		if data, err := obj.MarshalJSON(); err == nil && strings.Contains(string(data), want) {
			return time.Since(start), nil
		}
	}
	return 0, ctx.Err()
}
