// Command release measures release orders in one run on a fresh local
// cluster:
//
//   - the wall time of a release order of N services (all in one stage) from
//     start to Succeeded committed, versus `kubectl apply --server-side` of
//     the same rendered manifests followed by one `kubectl rollout status`
//     process watching every Deployment, from the same starting version in a
//     namespace of its own;
//
//   - for orders in which one service's new version crash-loops, the time
//     from the bench's own watch seeing that pod enter CrashLoopBackOff to
//     the commit of the transaction in which Berth decided the rollback of
//     every service, to every Deployment being back on its old version in the
//     API server, and to the commit of the order's RolledBack (every service
//     ready again).
//
// The Berth engine is built and run by internal/engine, as `berth server`
// runs it. Berth's times end when the release controller's OnAdvanced hears
// the order after its transaction committed, never at a timestamp taken
// inside the transaction.
//
//	go run ./bench/release -apps 50 -samples 5
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"berth.dev/berth/bench/internal/engine"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	berth "berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
)

const ns = "berth-release-bench"

func main() {
	napps := flag.Int("apps", 50, "services in the order")
	replicas := flag.Int("replicas", 2, "replicas per service")
	samples := flag.Int("samples", 5, "crash-loop orders to time the rollback")
	flag.Parse()
	if err := run(*napps, int32(*replicas), *samples); err != nil {
		fmt.Fprintln(os.Stderr, "bench/release:", err)
		os.Exit(1)
	}
}

func run(napps int, replicas int32, samples int) error {
	ctx := context.Background()
	wd, _ := os.Getwd()
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "berth-bench-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	lc, err := localcluster.Start(ctx, localcluster.Options{Dir: filepath.Join(dir, "cluster"), ComponentsDir: components, Nodes: 3})
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
	b := &bench{client: client, napps: napps, replicas: replicas, committed: map[string]*commits{}}
	e, err := engine.Start(ctx, dir, lc, "prod", ns, func(e *berth.Engine) { e.Releases.OnAdvanced = b.advanced })
	if err != nil {
		return err
	}
	defer e.Close()
	b.e = e
	if err := b.setup(ctx); err != nil {
		return err
	}

	kubectlTime, err := viaKubectl(ctx, filepath.Join(components, "kubectl"), lc.Kubeconfig(), dir, napps, replicas)
	if err != nil {
		return fmt.Errorf("kubectl: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kubectl apply + one rollout status of every Deployment: %v\n", kubectlTime)
	berthTime, err := b.order(ctx, "v2", "")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "berth order: %v\n", berthTime)

	var decided, applied, completed []time.Duration
	from := "v2"
	for i := range samples {
		d, a, c, err := b.crash(ctx, i, from)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "crash %d: decided %v, applied %v, rolled back %v\n", i, d, a, c)
		decided, applied, completed = append(decided, d), append(applied, a), append(completed, c)
	}

	fmt.Printf("| %d services × %d replicas, one stage | Berth release order | kubectl apply + one rollout status | Berth / kubectl |\n|---|---|---|---|\n", napps, replicas)
	fmt.Printf("| v1 → v2, every service ready | %v | %v | %.2f |\n", berthTime.Round(time.Millisecond), kubectlTime.Round(time.Millisecond),
		berthTime.Seconds()/kubectlTime.Seconds())
	fmt.Printf("\n| from CrashLoopBackOff seen (%d orders of %d services) | p50 | p99 | max |\n|---|---|---|---|\n", samples, napps)
	for _, row := range []struct {
		name string
		ds   []time.Duration
	}{{"rollback of all services decided and committed", decided}, {"all Deployments back on the old version", applied}, {"order RolledBack, every service ready", completed}} {
		slices.Sort(row.ds)
		fmt.Printf("| %s | %v | %v | %v |\n", row.name, pct(row.ds, 50), pct(row.ds, 99), row.ds[len(row.ds)-1].Round(time.Millisecond))
	}
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	return ds[(len(ds)-1)*p/100].Round(time.Millisecond)
}

type bench struct {
	e        *engine.Engine
	client   kubernetes.Interface
	napps    int
	replicas int32

	mu        sync.Mutex
	committed map[string]*commits // by order ID
}

// commits are when the transactions that took an order's decisions
// committed.
type commits struct {
	rollback time.Time // the rollback of every started item issued
	final    time.Time // the order Succeeded or RolledBack
	done     chan struct{}
}

func (b *bench) commitsOf(id string) *commits {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.committed[id]
	if c == nil {
		c = &commits{done: make(chan struct{})}
		b.committed[id] = c
	}
	return c
}

// advanced is the release controller's OnAdvanced: it runs once the
// transaction that advanced o has committed, so the time it reads is when
// the order's new state took effect.
func (b *bench) advanced(o release.Order) {
	now := time.Now()
	c := b.commitsOf(o.ID)
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.rollback.IsZero() && rollbackIssued(o) {
		c.rollback = now
	}
	if c.final.IsZero() && o.State.Final() {
		c.final = now
		close(c.done)
	}
}

// rollbackIssued: the order is turned back and every item that started has
// had its rollback issued.
func rollbackIssued(o release.Order) bool {
	if o.State != release.RollingBack && o.State != release.RolledBack {
		return false
	}
	for _, it := range o.Items {
		switch it.State {
		case release.ItemRollingBack, release.ItemRolledBack, release.ItemCancelled:
		default:
			return false
		}
	}
	return true
}

func appName(i int) string { return fmt.Sprintf("svc-%03d", i) }

func version(app, name string, replicas int32) apps.Version {
	v := apps.Version{Tenant: "bank", Project: "channels", Application: app, Name: name,
		Image: "registry.example.com/bank/" + app + ":" + name, Tier: "small",
		Orchestration: apps.Orchestration{Replicas: replicas, Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}}
	if strings.HasSuffix(name, "-crash") {
		v.Orchestration.PodLabels = map[string]string{localcluster.SimulateLabel: localcluster.SimulateCrashLoop}
	}
	return v
}

// setup creates the services with v1, v2 and v1-crash and runs v1.
func (b *bench) setup(ctx context.Context) error {
	for i := range b.napps {
		app := appName(i)
		err := b.e.Platform.Do(ctx, engine.Admin, audit.Event{Action: "bench.app"}, func(tx platform.Tx) error {
			if _, err := b.e.Platform.Apps.CreateApplication(ctx, tx, engine.Admin, apps.Application{Tenant: "bank", Project: "channels", Name: app}); err != nil {
				return err
			}
			for _, v := range []string{"v1", "v2", "v1-crash"} {
				if _, err := b.e.Platform.Apps.CreateVersion(ctx, tx, engine.Admin, version(app, v, b.replicas), apps.VersionOptions{}); err != nil {
					return err
				}
			}
			_, err := b.e.Platform.Deploy.Deploy(ctx, tx, engine.Admin, deploy.Key{Tenant: "bank", Project: "channels", Application: app, Environment: "prod"}, "v1")
			return err
		})
		if err != nil {
			return err
		}
	}
	return b.allRun(ctx, "v1")
}

// allRun waits until every service's Deployment runs version, rolled out.
func (b *bench) allRun(ctx context.Context, version string) error {
	return b.allDeployments(ctx, 100*time.Millisecond, func(d *appsv1.Deployment) bool {
		return d.Spec.Template.Labels[kube.LabelVersion] == version && d.Status.ObservedGeneration == d.Generation &&
			d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.Replicas == *d.Spec.Replicas
	})
}

// allDeployments polls until ok holds for every service's Deployment.
func (b *bench) allDeployments(ctx context.Context, every time.Duration, ok func(*appsv1.Deployment) bool) error {
	return wait.PollUntilContextTimeout(ctx, every, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := b.client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil || len(list.Items) != b.napps {
			return false, nil
		}
		for i := range list.Items {
			if !ok(&list.Items[i]) {
				return false, nil
			}
		}
		return true, nil
	})
}

// order runs an order taking every service to version (crash's version
// crash-looping) and returns its wall time from start to Succeeded
// committed.
func (b *bench) order(ctx context.Context, version, crash string) (time.Duration, error) {
	o, start, err := b.start(ctx, version, crash)
	if err != nil {
		return 0, err
	}
	o, c, err := b.wait(ctx, o)
	if err != nil {
		return 0, err
	}
	if o.State != release.Succeeded {
		return 0, fmt.Errorf("order %s ended %s: %+v", o.ID, o.State, o.Failure)
	}
	return c.final.Sub(start), nil
}

func (b *bench) start(ctx context.Context, version, crash string) (release.Order, time.Time, error) {
	var items []release.Item
	for i := range b.napps {
		v := version
		if appName(i) == crash {
			v += "-crash"
		}
		items = append(items, release.Item{Application: appName(i), Version: v})
	}
	var o release.Order
	start := time.Now()
	err := b.e.Platform.Do(ctx, engine.Admin, audit.Event{Action: "bench.release"}, func(tx platform.Tx) (err error) {
		o, err = b.e.Platform.Release.Create(ctx, tx, engine.Admin, release.Order{Tenant: "bank", Project: "channels", Environment: "prod",
			Title: "bench", Items: items, Parallelism: b.napps}, false)
		if err != nil {
			return err
		}
		o, err = b.e.Platform.Release.Start(ctx, tx, engine.Admin, o.Key())
		return err
	})
	return o, start, err
}

// wait waits until the order's final state has committed and returns it
// with its commit times.
func (b *bench) wait(ctx context.Context, o release.Order) (release.Order, commits, error) {
	c := b.commitsOf(o.ID)
	select {
	case <-c.done:
	case <-time.After(10 * time.Minute):
		return o, commits{}, fmt.Errorf("order %s: no final state within 10 minutes", o.ID)
	case <-ctx.Done():
		return o, commits{}, ctx.Err()
	}
	err := b.e.Platform.DB.View(ctx, func(tx platform.Tx) (err error) {
		o, err = tx.GetOrder(ctx, o.Tenant, o.Project, o.ID)
		return err
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	return o, *c, err
}

// crash runs an order taking every service from version from (v2) back to
// v1, svc-000 to v1-crash whose pods crash-loop; the order rolls every
// service back to from, so each sample starts alike.
func (b *bench) crash(ctx context.Context, i int, from string) (decided, applied, completed time.Duration, err error) {
	crashed := make(chan time.Time, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.client.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{LabelSelector: kube.LabelApp + "=" + appName(0)})
	if err != nil {
		return 0, 0, 0, err
	}
	defer w.Stop()
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if f, bad := kube.PodFault(p); bad && f.Reason == "CrashLoopBackOff" {
				select {
				case crashed <- time.Now():
				default:
				}
				return
			}
		}
	}()
	o, _, err := b.start(ctx, "v1", appName(0))
	if err != nil {
		return 0, 0, 0, err
	}
	var seen time.Time
	select {
	case seen = <-crashed:
	case <-time.After(5 * time.Minute):
		return 0, 0, 0, fmt.Errorf("sample %d: no CrashLoopBackOff seen", i)
	}
	back := make(chan time.Time, 1)
	go func() {
		err := b.allDeployments(ctx, 10*time.Millisecond, func(d *appsv1.Deployment) bool {
			return d.Spec.Template.Labels[kube.LabelVersion] == from
		})
		if err == nil {
			back <- time.Now()
		}
	}()
	o, c, err := b.wait(ctx, o)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := b.allRun(ctx, from); err != nil {
		return 0, 0, 0, err
	}
	if o.State != release.RolledBack {
		return 0, 0, 0, fmt.Errorf("sample %d: order ended %s", i, o.State)
	}
	if c.rollback.IsZero() {
		return 0, 0, 0, fmt.Errorf("sample %d: order %s rolled back without a commit that issued every rollback", i, o.ID)
	}
	end := <-back
	return c.rollback.Sub(seen), end.Sub(seen), c.final.Sub(seen), nil
}

// viaKubectl is the peer: the same rendered objects at v1 in a namespace
// of their own, then v2 applied and every Deployment's rollout waited on by
// one `kubectl rollout status` process (a release script that started one
// process per Deployment would pay a process start-up each).
func viaKubectl(ctx context.Context, kubectl, kubeconfig, dir string, napps int, replicas int32) (time.Duration, error) {
	write := func(name, v string) (string, error) {
		var buf bytes.Buffer
		objs, err := kube.RenderNamespace(kube.Namespace{Name: "kubectl-release", Tenant: "bank", Project: "channels", Environment: "kubectl"})
		if err != nil {
			return "", err
		}
		for i := range napps {
			o, err := kube.Render(kube.Workload{Tenant: "bank", Project: "channels", Environment: "kubectl", Namespace: "kubectl-release",
				App: appName(i), Version: version(appName(i), v, replicas)})
			if err != nil {
				return "", err
			}
			objs = append(objs, o...)
		}
		for _, o := range objs {
			data, err := yaml.Marshal(o.Object)
			if err != nil {
				return "", err
			}
			buf.WriteString("---\n")
			buf.Write(data)
		}
		file := filepath.Join(dir, name)
		return file, os.WriteFile(file, buf.Bytes(), 0o600)
	}
	kc := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	v1, err := write("v1.yaml", "v1")
	if err != nil {
		return 0, err
	}
	v2, err := write("v2.yaml", "v2")
	if err != nil {
		return 0, err
	}
	if _, err := kc("apply", "--server-side", "--field-manager", "kubectl-bench", "-f", v1); err != nil {
		return 0, err
	}
	// rolledOut waits, in one process, until every Deployment's rollout is
	// complete; it checks that kubectl did wait on each of them.
	rolledOut := func() error {
		out, err := kc("rollout", "status", "deployment", "-n", "kubectl-release", "-l", kube.LabelApp, "--timeout=10m")
		if err != nil {
			return err
		}
		if n := strings.Count(out, "successfully rolled out"); n != napps {
			return fmt.Errorf("kubectl rollout status reported %d of %d Deployments rolled out: %s", n, napps, out)
		}
		return nil
	}
	if err := rolledOut(); err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := kc("apply", "--server-side", "--field-manager", "kubectl-bench", "-f", v2); err != nil {
		return 0, err
	}
	if err := rolledOut(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
