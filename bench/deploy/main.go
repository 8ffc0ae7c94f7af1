// Command deploy measures Berth's cluster driver in one run on a fresh local
// cluster:
//
//   - the time for Berth to deploy N applications (API-equivalent calls, one
//     transaction each, then the controller) versus `kubectl apply
//     --server-side` of the same rendered manifests followed by `kubectl wait
//     --for=condition=Available`, until every Deployment is Available;
//
//   - the latency from a pod status change in the API server to Berth's
//     application status (p50/p99);
//
//   - the resident memory of the Berth engine with N applications scaled to
//     `-pods` pods in total.
//
//     go run ./bench/deploy -apps 500 -pods 5000
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"berth.dev/berth/bench/internal/engine"
	"berth.dev/berth/bench/internal/proc"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

var admin = engine.Admin

func main() {
	napps := flag.Int("apps", 500, "applications to deploy")
	replicas := flag.Int("replicas", 2, "replicas per application in the deploy comparison")
	pods := flag.Int("pods", 5000, "total pods for the memory figure (apps are scaled up to it)")
	samples := flag.Int("samples", 200, "status latency samples")
	flag.Parse()
	if err := run(*napps, int32(*replicas), *pods, *samples); err != nil {
		fmt.Fprintln(os.Stderr, "bench/deploy:", err)
		os.Exit(1)
	}
}

func run(napps int, replicas int32, pods, samples int) error {
	ctx := context.Background()
	wd, _ := os.Getwd()
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "berth-bench-deploy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	nodes := pods/200 + 1
	lc, err := localcluster.Start(ctx, localcluster.Options{Dir: filepath.Join(dir, "cluster"), ComponentsDir: components, Nodes: nodes})
	if err != nil {
		return err
	}
	defer lc.Stop()
	cfg := lc.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}

	// The peer: kubectl applies the same rendered objects.
	kubectlApply, kubectlAvail, err := viaKubectl(ctx, filepath.Join(components, "kubectl"), lc.Kubeconfig(), dir, napps, replicas)
	if err != nil {
		return fmt.Errorf("kubectl: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kubectl: applied %v, available %v\n", kubectlApply, kubectlAvail)
	if err := client.CoreV1().Namespaces().Delete(ctx, "kubectl-bench", metav1.DeleteOptions{}); err != nil {
		return err
	}

	b, err := newBerth(ctx, dir, lc)
	if err != nil {
		return err
	}
	defer b.close()
	berthApply, berthAvail, err := b.deployAll(ctx, napps, replicas)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "berth: applied %v, available %v\n", berthApply, berthAvail)

	lat, err := b.statusLatency(ctx, client, samples)
	if err != nil {
		return err
	}
	rss, heap, err := b.scaleAndMeasure(ctx, napps, int32(pods/napps))
	if err != nil {
		return err
	}

	fmt.Printf("| %d applications × %d replicas | Berth | kubectl | Berth / kubectl |\n|---|---|---|---|\n", napps, replicas)
	fmt.Printf("| all applied | %v | %v | %.2f |\n", berthApply.Round(time.Millisecond), kubectlApply.Round(time.Millisecond),
		berthApply.Seconds()/kubectlApply.Seconds())
	fmt.Printf("| all Available | %v | %v | %.2f |\n", berthAvail.Round(time.Millisecond), kubectlAvail.Round(time.Millisecond),
		berthAvail.Seconds()/kubectlAvail.Seconds())
	slices.Sort(lat)
	fmt.Printf("\n| pod status change → Berth status (%d samples) | p50 | p99 | max |\n|---|---|---|---|\n", len(lat))
	fmt.Printf("| latency | %v | %v | %v |\n", pct(lat, 50), pct(lat, 99), lat[len(lat)-1].Round(time.Microsecond))
	fmt.Printf("\n| Berth engine with %d applications / %d pods | RSS | Go heap in use |\n|---|---|---|\n", napps, pods)
	fmt.Printf("| memory | %d MiB | %d MiB |\n", rss>>20, heap>>20)
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	return ds[(len(ds)-1)*p/100].Round(time.Microsecond)
}

func appName(i int) string { return fmt.Sprintf("svc-%03d", i) }

func version(app string, replicas int32) apps.Version {
	return apps.Version{Tenant: "bank", Project: "channels", Application: app, Name: "v1",
		Image: "registry.example.com/bank/" + app + ":1.0.0", Tier: "small",
		Resources: &apps.Resources{Requests: resource.List{resource.CPU: resource.MilliUnits(10), resource.Memory: resource.Units(16 << 20)}},
		Orchestration: apps.Orchestration{Replicas: replicas, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}},
			Env: []apps.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}}}
}

func viaKubectl(ctx context.Context, kubectl, kubeconfig, dir string, napps int, replicas int32) (time.Duration, time.Duration, error) {
	var buf bytes.Buffer
	ns, err := kube.RenderNamespace(kube.Namespace{Name: "kubectl-bench", Tenant: "bank", Project: "channels", Environment: "kubectl"})
	if err != nil {
		return 0, 0, err
	}
	objs := ns
	for i := range napps {
		o, err := kube.Render(kube.Workload{Tenant: "bank", Project: "channels", Environment: "kubectl", Namespace: "kubectl-bench",
			App: appName(i), Version: version(appName(i), replicas)})
		if err != nil {
			return 0, 0, err
		}
		objs = append(objs, o...)
	}
	for _, o := range objs {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			return 0, 0, err
		}
		buf.WriteString("---\n")
		buf.Write(data)
	}
	file := filepath.Join(dir, "manifests.yaml")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager", "kubectl-bench", "-f", file).CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("apply: %v: %s", err, tailOf(out))
	}
	applied := time.Since(start)
	if out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", kubeconfig, "wait", "-n", "kubectl-bench", "--for=condition=Available",
		"deployment", "--all", "--timeout=15m").CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("wait: %v: %s", err, tailOf(out))
	}
	return applied, time.Since(start), nil
}

func tailOf(out []byte) string {
	s := string(out)
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}

// berth is the Berth engine in this process, with the statuses of chosen
// applications forwarded for the latency figure.
type berth struct {
	*engine.Engine
	p *platform.Platform

	mu       sync.Mutex
	watchers map[string]chan kube.Status // app → statuses, for the latency figure

	unsubscribe context.CancelFunc
}

func newBerth(ctx context.Context, dir string, lc *localcluster.Cluster) (*berth, error) {
	b := &berth{watchers: map[string]chan kube.Status{}}
	e, err := engine.Start(ctx, dir, lc, "bench", "berth-bench", nil)
	if err != nil {
		return nil, err
	}
	b.Engine, b.p = e, e.Platform
	sub, cancel := context.WithCancel(ctx)
	b.unsubscribe = cancel
	go b.forward(e.Clusters.Subscribe(sub))
	return b, nil
}

// forward passes the status of every changed application that a latency
// sample waits on to its watcher, as the console's live view hears it.
func (b *berth) forward(changes <-chan kube.Change) {
	for ch := range changes {
		b.mu.Lock()
		w := b.watchers[ch.App.App]
		b.mu.Unlock()
		if w == nil {
			continue
		}
		if conn, err := b.Clusters.Get(ch.Cluster); err == nil {
			select {
			case w <- conn.Status(ch.App):
			default:
			}
		}
	}
}

func (b *berth) close() { b.unsubscribe(); b.Close() }

func (b *berth) deployAll(ctx context.Context, napps int, replicas int32) (time.Duration, time.Duration, error) {
	for i := range napps {
		err := b.p.Do(ctx, admin, audit.Event{Action: "bench.app"}, func(tx platform.Tx) error {
			if _, err := b.p.Apps.CreateApplication(ctx, tx, admin, apps.Application{Tenant: "bank", Project: "channels", Name: appName(i)}); err != nil {
				return err
			}
			v := version(appName(i), replicas)
			v.Resources = nil
			_, err := b.p.Apps.CreateVersion(ctx, tx, admin, v, apps.VersionOptions{})
			return err
		})
		if err != nil {
			return 0, 0, err
		}
	}
	start := time.Now()
	for i := range napps {
		k := deploy.Key{Tenant: "bank", Project: "channels", Application: appName(i), Environment: "bench"}
		err := b.p.Do(ctx, admin, audit.Event{Action: "deployment.deploy"}, func(tx platform.Tx) error {
			_, err := b.p.Deploy.Deploy(ctx, tx, admin, k, "v1")
			return err
		})
		if err != nil {
			return 0, 0, err
		}
	}
	var applied time.Duration
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 15*time.Minute, true, func(ctx context.Context) (bool, error) {
		pending := 0
		err := b.p.DB.View(ctx, func(tx platform.Tx) error {
			ds, err := tx.PendingDeployments(ctx)
			pending = len(ds)
			return err
		})
		return err == nil && pending == 0, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("deployments never all applied: %w", err)
	}
	applied = time.Since(start)
	err = b.waitAll(ctx, napps, func(s kube.Status) bool { return s.Phase == kube.PhaseRunning })
	return applied, time.Since(start), err
}

func (b *berth) waitAll(ctx context.Context, napps int, ok func(kube.Status) bool) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 20*time.Minute, true, func(context.Context) (bool, error) {
		conn, err := b.Clusters.Get("local")
		if err != nil {
			return false, nil
		}
		for i := range napps {
			if !ok(conn.Status(kube.AppKey{Namespace: "berth-bench", App: appName(i)})) {
				return false, nil
			}
		}
		return true, nil
	})
}

// statusLatency writes a crash into a pod's status and times how long
// Berth's status takes to say so, for samples different applications.
func (b *berth) statusLatency(ctx context.Context, client kubernetes.Interface, samples int) ([]time.Duration, error) {
	var out []time.Duration
	for i := range samples {
		app := appName(i)
		ch := make(chan kube.Status, 64)
		b.mu.Lock()
		b.watchers[app] = ch
		b.mu.Unlock()
		pods, err := client.CoreV1().Pods("berth-bench").List(ctx, metav1.ListOptions{LabelSelector: kube.LabelApp + "=" + app})
		if err != nil || len(pods.Items) == 0 {
			return nil, fmt.Errorf("pods of %s: %v", app, err)
		}
		pod := pods.Items[0]
		for j := range pod.Status.ContainerStatuses {
			pod.Status.ContainerStatuses[j].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}}
			pod.Status.ContainerStatuses[j].Ready = false
		}
		start := time.Now()
		if _, err := client.CoreV1().Pods("berth-bench").UpdateStatus(ctx, &pod, metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case s := <-ch:
				for _, p := range s.Pods {
					if p.Name == pod.Name && p.Reason == "CrashLoopBackOff" {
						out = append(out, time.Since(start))
						break wait
					}
				}
			case <-timeout:
				return nil, fmt.Errorf("status of %s never showed the crash", app)
			}
		}
		b.mu.Lock()
		delete(b.watchers, app)
		b.mu.Unlock()
		// The probed pod stays crashed; its ReplicaSet replaces it.
		if err := client.CoreV1().Pods("berth-bench").Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *berth) scaleAndMeasure(ctx context.Context, napps int, replicas int32) (rss, heap uint64, err error) {
	for i := range napps {
		k := deploy.Key{Tenant: "bank", Project: "channels", Application: appName(i), Environment: "bench"}
		err := b.p.Do(ctx, admin, audit.Event{Action: "deployment.scale"}, func(tx platform.Tx) error {
			_, err := b.p.Deploy.Scale(ctx, tx, admin, k, replicas)
			return err
		})
		if err != nil {
			return 0, 0, err
		}
	}
	if err := b.waitAll(ctx, napps, func(s kube.Status) bool { return s.Phase == kube.PhaseRunning && s.Ready == replicas }); err != nil {
		return 0, 0, fmt.Errorf("scale to %d: %w", replicas, err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	self, err := proc.RSS(0)
	return uint64(self), ms.HeapInuse, err
}
