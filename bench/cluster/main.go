// Command cluster measures the local control plane: time for `cluster up` to
// be ready (fresh and resumed), resident memory of each component, and the
// time for a 100-replica Deployment to become Available. It prints a
// Markdown table for docs/benchmarks.md.
//
//	go run ./bench/cluster -runs 3
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"berth.dev/berth/bench/internal/proc"
	"berth.dev/berth/internal/localcluster"
)

func main() {
	runs := flag.Int("runs", 3, "how many times to measure each figure")
	replicas := flag.Int("replicas", 100, "replicas of the Deployment to roll out")
	flag.Parse()
	if err := run(*runs, int32(*replicas)); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

func run(runs int, replicas int32) error {
	ctx := context.Background()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		return err
	}
	var fresh, resumed, rollout []time.Duration
	var rss map[string][2]int64
	for i := range runs {
		dir, err := os.MkdirTemp("", "berth-bench-cluster-")
		if err != nil {
			return err
		}
		opts := localcluster.Options{Dir: dir, ComponentsDir: components, Nodes: 3}
		began := time.Now()
		c, err := localcluster.Start(ctx, opts)
		if err != nil {
			return err
		}
		fresh = append(fresh, time.Since(began))
		idle := measureRSS(c)
		d, err := rolloutTime(ctx, c, replicas)
		if err != nil {
			c.Stop()
			return err
		}
		rollout = append(rollout, d)
		if i == 0 {
			loaded := measureRSS(c)
			rss = map[string][2]int64{}
			for name, v := range idle {
				rss[name] = [2]int64{v, loaded[name]}
			}
		}
		c.Stop()
		began = time.Now()
		c, err = localcluster.Start(ctx, opts)
		if err != nil {
			return err
		}
		resumed = append(resumed, time.Since(began))
		c.Stop()
		os.RemoveAll(dir)
	}

	fmt.Printf("| figure | median | min | max | runs |\n|---|---|---|---|---|\n")
	row := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		fmt.Printf("| %s | %v | %v | %v | %d |\n", name, ds[len(ds)/2].Round(10*time.Millisecond),
			ds[0].Round(10*time.Millisecond), ds[len(ds)-1].Round(10*time.Millisecond), len(ds))
	}
	row("`cluster up` to ready, fresh directory (3 nodes)", fresh)
	row("`cluster up` to ready, resumed directory", resumed)
	row(fmt.Sprintf("%d-replica Deployment created → Available", replicas), rollout)
	fmt.Printf("\n| component | RSS idle (MiB) | RSS with %d pods (MiB) |\n|---|---|---|\n", replicas)
	for _, name := range []string{localcluster.Etcd, localcluster.APIServer, localcluster.ControllerManager, localcluster.Scheduler, localcluster.Kwok} {
		fmt.Printf("| %s | %d | %d |\n", name, rss[name][0]>>20, rss[name][1]>>20)
	}
	if secs, err := os.ReadFile(filepath.Join(components, ".build-seconds")); err == nil {
		fmt.Printf("\nComponents in %s were built in %ss (recorded by build/components/build.sh).\n", components, strings.TrimSpace(string(secs)))
	}
	return nil
}

func rolloutTime(ctx context.Context, c *localcluster.Cluster, replicas int32) (time.Duration, error) {
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 100, 200
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	labels := map[string]string{"app": "bench"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "bench:1"}}},
			},
		},
	}
	began := time.Now()
	if _, err := k.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return 0, err
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := k.AppsV1().Deployments("default").Get(ctx, "bench", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return got.Status.AvailableReplicas == replicas, nil
	})
	return time.Since(began), err
}

// measureRSS reads the resident memory of each component.
func measureRSS(c *localcluster.Cluster) map[string]int64 {
	out := map[string]int64{}
	for _, comp := range c.State().Components {
		if rss, err := proc.RSS(comp.PID); err == nil {
			out[comp.Name] = rss
		}
	}
	return out
}
