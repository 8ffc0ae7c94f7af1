package kube_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
)

func TestStoppedClusterShowsUnknownFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	wd, _ := os.Getwd()
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	opts := localcluster.Options{Dir: t.TempDir(), ComponentsDir: components, Nodes: 1}
	lc, err := localcluster.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lc.Stop() })

	reg := kube.NewRegistry(slog.New(slog.DiscardHandler), nil)
	t.Cleanup(reg.Close)
	if err := reg.ConnectConfig(ctx, "branch-dc", lc.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Get("head-office"); !errors.Is(err, kube.ErrUnknownCluster) {
		t.Errorf("unregistered cluster: %v, want ErrUnknownCluster", err)
	}
	key := kube.AppKey{Namespace: "default", App: "red-auth"}
	phase := func(want kube.Phase, limit time.Duration) kube.Status {
		t.Helper()
		var last kube.Status
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, limit, true, func(context.Context) (bool, error) {
			c, err := reg.Get("branch-dc")
			if err != nil {
				return false, err
			}
			last = c.Status(key)
			return last.Phase == want, nil
		})
		if err != nil {
			t.Fatalf("status never became %s: last %+v", want, last)
		}
		return last
	}

	conn, err := reg.Ready("branch-dc")
	for i := 0; err != nil && i < 300; i++ {
		time.Sleep(100 * time.Millisecond)
		conn, err = reg.Ready("branch-dc")
	}
	if err != nil {
		t.Fatalf("cluster never ready: %v", err)
	}
	objs, err := kube.Render(workload("default", version("v1")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Applier.Apply(ctx, objs, nil); err != nil {
		t.Fatal(err)
	}
	phase(kube.PhaseRunning, 2*time.Minute)

	lc.Stop()
	s := phase(kube.PhaseUnknown, time.Minute)
	if s.Reason != "ClusterUnreachable" || s.Message == "" {
		t.Errorf("unknown status %+v, want the reason", s)
	}
	if _, err := reg.Ready("branch-dc"); !errors.Is(err, kube.ErrUnreachable) {
		t.Errorf("operation on a stopped cluster: %v, want ErrUnreachable at once", err)
	}

	lc, err = localcluster.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	phase(kube.PhaseRunning, 2*time.Minute)
}
