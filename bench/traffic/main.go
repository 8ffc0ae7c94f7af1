// Command traffic measures how long a change of a gray plan's routing takes
// to reach the cluster through the Istio and Gateway API providers: from
// calling kube.Applier.ApplyOwned with the newly rendered objects to a
// watch on the route object delivering the new version of it. It starts a
// local control plane, installs the providers' CRDs from the files their
// Go modules ship, then for each provider applies -changes successive
// weights (every change differs from the one before) and prints a
// Markdown table of p50/p99/max for docs/benchmarks.md.
//
//	go run ./bench/traffic -changes 200
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/gatewayapi"
	"berth.dev/berth/internal/traffic/istio"
	"berth.dev/berth/internal/traffic/traffictest"
)

// provider is one traffic provider under measurement.
type provider struct {
	name   string
	render func(traffic.Route) ([]*unstructured.Unstructured, error)
	// watched is the object whose update is awaited.
	watched schema.GroupVersionResource
	// weight reads the gray weight of the default route from it.
	weight func(*unstructured.Unstructured) int64
}

var providers = []provider{
	{"Istio (DestinationRule + VirtualService)", istio.Render,
		schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}, istioWeight},
	{"Gateway API (HTTPRoute)", gatewayapi.Render,
		schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}, gatewayWeight},
}

var pause *time.Duration

func main() {
	changes := flag.Int("changes", 200, "routing changes to apply per provider")
	pause = flag.Duration("pause", 300*time.Millisecond, "pause between gray plan changes")
	flag.Parse()
	if err := run(*changes); err != nil {
		fmt.Fprintln(os.Stderr, "bench/traffic:", err)
		os.Exit(1)
	}
}

func run(changes int) error {
	ctx := context.Background()
	c, err := startCluster(ctx)
	if err != nil {
		return err
	}
	defer c.Stop()
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 500, 1000
	if err := installCRDs(ctx, c); err != nil {
		return err
	}
	a, err := kube.NewApplier(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ns, err := namespace(ctx, cfg)
	if err != nil {
		return err
	}
	load := readLoad()
	fmt.Printf("| provider | changes | apply call p50 | p99 | apply → observed by watch p50 | p99 | max |\n|---|---|---|---|---|---|---|\n")
	for _, p := range providers {
		applied, observed, err := measure(ctx, a, dyn, ns, p, changes)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		fmt.Printf("| %s | %d | %s | %s | %s | %s | %s |\n", p.name, changes,
			pct(applied, 50), pct(applied, 99), pct(observed, 50), pct(observed, 99), pct(observed, 100))
	}
	fmt.Printf("\n| gray plan change committed → provider's route updated, seen by a watch | changes | p50 | p99 | max |\n|---|---|---|---|---|\n")
	for _, prov := range []string{tenancy.TrafficIstio, tenancy.TrafficGatewayAPI} {
		lat, err := planLatency(ctx, c, prov, changes, *pause)
		if err != nil {
			return fmt.Errorf("plan latency %s: %w", prov, err)
		}
		slices.Sort(lat)
		fmt.Printf("| %s | %d | %s | %s | %s |\n", prov, changes, pct(lat, 50), pct(lat, 99), pct(lat, 100))
	}
	fmt.Printf("\nLoad average (1 min) before: %s, after: %s\n", load, readLoad())
	return nil
}

func startCluster(ctx context.Context) (*localcluster.Cluster, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "berth-bench-traffic-")
	if err != nil {
		return nil, err
	}
	return localcluster.Start(ctx, localcluster.Options{Dir: dir, ComponentsDir: components, Nodes: 1})
}

func installCRDs(ctx context.Context, c *localcluster.Cluster) error {
	istioDir, err := moduleDir("istio.io/api")
	if err != nil {
		return err
	}
	gwDir, err := moduleDir("sigs.k8s.io/gateway-api")
	if err != nil {
		return err
	}
	_, err = kube.InstallCRDs(ctx, c.RESTConfig(),
		filepath.Join(istioDir, "kubernetes", "customresourcedefinitions.gen.yaml"),
		filepath.Join(gwDir, "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml"))
	return err
}

func moduleDir(mod string) (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory (%v)", mod, err)
	}
	return info.Dir, nil
}

func namespace(ctx context.Context, cfg *rest.Config) (string, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	ns, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-traffic"},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return ns.Name, nil
}

// measure applies changes routing changes through p and returns, per
// change, the duration of the apply call and the time until the watch
// delivered the changed object.
func measure(ctx context.Context, a *kube.Applier, dyn dynamic.Interface, ns string, p provider, changes int) (applied, observed []time.Duration, err error) {
	r := traffictest.Route(traffic.Rules{Match: traffictest.Pilot(), Weight: 1})
	r.Namespace = ns
	inv, err := apply(ctx, a, p, r, nil)
	if err != nil {
		return nil, nil, err
	}
	w, err := dyn.Resource(p.watched).Namespace(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + r.Name})
	if err != nil {
		return nil, nil, err
	}
	defer w.Stop()
	for i := range changes {
		r.Rules.Weight = 2 + i%97
		began := time.Now()
		if inv, err = apply(ctx, a, p, r, inv); err != nil {
			return nil, nil, err
		}
		applied = append(applied, time.Since(began))
		if err := awaitWeight(ctx, w.ResultChan(), p, int64(r.Rules.Weight)); err != nil {
			return nil, nil, err
		}
		observed = append(observed, time.Since(began))
	}
	return applied, observed, nil
}

func apply(ctx context.Context, a *kube.Applier, p provider, r traffic.Route, inv kube.Inventory) (kube.Inventory, error) {
	objs, err := p.render(r)
	if err != nil {
		return nil, err
	}
	return a.ApplyOwned(ctx, objs, inv)
}

// awaitWeight reads events until one carries the object with the gray
// weight want.
func awaitWeight(ctx context.Context, events <-chan watch.Event, p provider, want int64) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("weight %d never observed: %w", want, ctx.Err())
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("watch closed before weight %d was observed", want)
			}
			if o, isObj := ev.Object.(*unstructured.Unstructured); isObj && p.weight(o) == want {
				return nil
			}
		}
	}
}

// istioWeight is the gray destination's weight in the VirtualService's
// last (default) HTTP route.
func istioWeight(o *unstructured.Unstructured) int64 {
	http, _, _ := unstructured.NestedSlice(o.Object, "spec", "http")
	if len(http) == 0 {
		return -1
	}
	route, _, _ := unstructured.NestedSlice(http[len(http)-1].(map[string]any), "route")
	return lastWeight(route)
}

// gatewayWeight is the gray backendRef's weight in the HTTPRoute's last
// (default) rule.
func gatewayWeight(o *unstructured.Unstructured) int64 {
	rules, _, _ := unstructured.NestedSlice(o.Object, "spec", "rules")
	if len(rules) == 0 {
		return -1
	}
	refs, _, _ := unstructured.NestedSlice(rules[len(rules)-1].(map[string]any), "backendRefs")
	return lastWeight(refs)
}

func lastWeight(list []any) int64 {
	if len(list) == 0 {
		return -1
	}
	w, _, _ := unstructured.NestedInt64(list[len(list)-1].(map[string]any), "weight")
	return w
}

// pct returns the p-th percentile of ds (nearest rank), in milliseconds.
func pct(ds []time.Duration, p int) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	i = min(max(i, 1), len(s)) - 1
	return fmt.Sprintf("%.1f ms", float64(s[i].Microseconds())/1000)
}

func readLoad() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
