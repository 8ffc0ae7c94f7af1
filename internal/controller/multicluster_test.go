package controller_test

import (
	"context"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/tenancy"
)

// TestEnvironmentsOfOneProjectRunOnDifferentClusters deploys one
// application to two environments bound to two real clusters (as a bank runs
// test in Beijing and prod in Shanghai), then stops the second cluster:
// only that environment turns Unknown.
func TestEnvironmentsOfOneProjectRunOnDifferentClusters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	ctx := t.Context()
	wd, _ := os.Getwd()
	components, err := localcluster.FindComponents(ctx, os.Getenv, wd, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := localcluster.Start(ctx, localcluster.Options{Dir: t.TempDir(), ComponentsDir: components, Nodes: 2,
		Zones: []string{"shanghai-a", "shanghai-b"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shanghai.Stop)
	kubeconfig, err := os.ReadFile(shanghai.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	prod := deploy.Key{Tenant: "bank", Project: "channels", Application: "red-auth", Environment: "prod"}
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		if _, err := e.p.Tenancy.RegisterCluster(ctx, tx, alice, tenancy.Cluster{Name: "shanghai", Zone: "shanghai"}, kubeconfig); err != nil {
			return err
		}
		_, err := e.p.Tenancy.CreateEnvironment(ctx, tx, alice, tenancy.Environment{Tenant: "bank", Project: "channels",
			Name: "prod", Cluster: "shanghai", Namespace: "channels-prod"})
		return err
	})
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, e.key, "v1")
		return err
	})
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Deploy.Deploy(ctx, tx, alice, prod, "v2")
		return err
	})

	status := func(cluster, ns string) kube.Status {
		return e.reg.Status(cluster, kube.AppKey{Namespace: ns, App: "red-auth"})
	}
	until := func(what string, ok func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) { return ok(), nil }); err != nil {
			t.Fatalf("%s: test %+v, prod %+v", what, status("local", e.ns), status("shanghai", "channels-prod"))
		}
	}
	until("both environments running their versions", func() bool {
		t1, p1 := status("local", e.ns), status("shanghai", "channels-prod")
		return t1.Phase == kube.PhaseRunning && t1.Version == "v1" && p1.Phase == kube.PhaseRunning && p1.Version == "v2"
	})
	sh, err := kubernetes.NewForConfig(shanghai.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	d, err := sh.AppsV1().Deployments("channels-prod").Get(ctx, "red-auth", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Labels[kube.LabelVersion] != "v2" {
		t.Fatalf("prod's Deployment on the shanghai cluster: %v", err)
	}
	if _, err := e.c.Client.AppsV1().Deployments("channels-prod").Get(ctx, "red-auth", metav1.GetOptions{}); err == nil {
		t.Error("prod's Deployment also landed on the local cluster")
	}

	shanghai.Stop()
	until("prod Unknown, test still Running", func() bool {
		return status("shanghai", "channels-prod").Phase == kube.PhaseUnknown && status("local", e.ns).Phase == kube.PhaseRunning
	})
}
