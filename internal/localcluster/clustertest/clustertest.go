// Package clustertest gives tests a real local Kubernetes control plane.
//
// The first call to Start in a test binary starts one cluster, which every
// test of the package then shares; each test gets its own namespace from
// Namespace. Call Main from TestMain so the cluster is stopped and its
// directory removed when the tests end; even without it the components die
// with the test binary.
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"berth.dev/berth/internal/localcluster"
)

// Cluster is the shared cluster of a test binary.
type Cluster struct {
	*localcluster.Cluster
	// Client is an admin clientset.
	Client kubernetes.Interface
}

// PodIP, set before the first Start (in TestMain), gives every simulated pod
// of the binary's cluster that IP (localcluster.Options.PodIP): for traffic
// tests that serve the pods' ports themselves. Empty by default.
var PodIP string

var (
	once     sync.Once
	shared   *Cluster
	startErr error
	dir      string
)

// Start returns the test binary's cluster, starting it on first use. A
// cluster that cannot start fails the test with the reason.
func Start(t testing.TB) *Cluster {
	t.Helper()
	once.Do(func() { shared, startErr = start() })
	if startErr != nil {
		t.Fatalf("local cluster: %v", startErr)
	}
	return shared
}

func start() (*Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		return nil, err
	}
	dir, err = os.MkdirTemp("", "berth-cluster-")
	if err != nil {
		return nil, err
	}
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	c, err := localcluster.Start(ctx, localcluster.Options{
		Dir:           dir,
		ComponentsDir: components,
		Nodes:         3,
		Zones:         []string{"zone-a", "zone-b", "zone-c"},
		PodIP:         PodIP,
		Log:           slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	})
	if err != nil {
		return nil, err
	}
	cfg := c.RESTConfig()
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		c.Stop()
		return nil, err
	}
	return &Cluster{Cluster: c, Client: client}, nil
}

// Main runs the tests, then stops the shared cluster (if one was started)
// and removes its directory. Use it as TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if tekton != nil {
		tekton.Stop()
	}
	if shared != nil {
		shared.Stop()
	}
	if dir != "" && code == 0 {
		os.RemoveAll(dir)
	} else if dir != "" {
		fmt.Fprintf(os.Stderr, "clustertest: tests failed; cluster logs kept in %s/logs\n", dir)
	}
	os.Exit(code)
}

var unsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a fresh namespace for t, ready for pods (its default
// service account exists), and deletes it when t ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	prefix := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	ctx := context.Background()
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: map[string]string{"berth.dev/test": "true"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s: default service account never appeared", ns.Name)
	}
	return ns.Name
}
