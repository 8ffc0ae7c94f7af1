package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/logtest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// eventually runs args until the output holds every one of wants.
func (b berth) eventually(limit time.Duration, args []string, wants ...string) string {
	b.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		out, err := b.run("", args...)
		ok := err == nil
		for _, w := range wants {
			ok = ok && strings.Contains(out, w)
		}
		if ok {
			return out
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("berth %s never showed %q (err %v):\n%s", strings.Join(args, " "), wants, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// onCluster starts the server on the shared local cluster, logs in as admin
// and applies the bank manifest (plus extra documents) with environment dev
// bound to a fresh namespace; the context defaults to tenant bank, project pay.
func onCluster(t *testing.T, prefix, extra string) (berth, *clustertest.Cluster, string) {
	t.Helper()
	b, c, ns, _ := onClusterAt(t, prefix, extra)
	return b, c, ns
}

// onClusterAt is onCluster that also returns the server's URL.
func onClusterAt(t *testing.T, prefix, extra string) (berth, *clustertest.Cluster, string, string) {
	t.Helper()
	c := clustertest.Start(t)
	dir := t.TempDir()
	vars := map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword, "BERTH_CONFIG": filepath.Join(dir, "config.yaml")}
	getenv := func(k string) string { return vars[k] }
	url := startServer(t, dir, c.Kubeconfig(), getenv)
	b := berth{t: t, getenv: getenv}
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%100000)
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	b.must(adminPassword+"\n", []string{"login", "--server", url, "--username", "admin", "--password-stdin"}, "Logged in")
	file := filepath.Join(dir, "bank.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(manifest, "namespace: bank-pay-dev", "namespace: "+ns, 1)+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"apply", "-f", file})
	b.must("", []string{"context", "set", "-t", "bank", "-p", "pay"})
	return b, c, ns, url
}

// TestDeployAndOperateFromTheCLI is the tour a new user takes: the server
// started on a real cluster, an application applied, then deployed, listed,
// scaled, stopped, started and removed with `berth app`, each visible in the
// cluster and in the audit trail.
func TestDeployAndOperateFromTheCLI(t *testing.T) {
	b, c, ns := onCluster(t, "bank-pay-e2e", `---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: blue-pay, tenant: bank, project: pay}
spec:
  version: {name: v1, image: registry.local/blue-pay:1.0, tier: small, orchestration: {replicas: 1}}
`)
	app := []string{"--env", "dev"}

	b.must("", append([]string{"app", "deploy", "red-auth", "v1"}, app...), "deploying version v1 to dev")
	out := b.eventually(2*time.Minute, append([]string{"app", "list"}, app...), "red-auth", "Running", "2/2",
		"red-auth."+ns+".svc.cluster.local:8080")
	for _, col := range []string{"NAME", "VERSION", "STATUS", "EXTERNAL ADDRESS", "INTERNAL ADDRESS", "CREATED"} {
		if !strings.Contains(out, col) {
			t.Errorf("app list lacks column %s:\n%s", col, out)
		}
	}
	status := b.must("", append([]string{"app", "status", "red-auth"}, app...), "POD", "ZONE", "Recent events:")
	if !strings.Contains(status, "zone-") {
		t.Errorf("status shows no zones:\n%s", status)
	}

	b.must("", append([]string{"app", "scale", "red-auth", "3"}, app...))
	b.eventually(time.Minute, append([]string{"app", "list"}, app...), "Running", "3/3")
	b.must("", append([]string{"app", "stop", "red-auth"}, app...))
	b.eventually(time.Minute, append([]string{"app", "list"}, app...), "Stopped", "0/0")
	b.must("", append([]string{"app", "start", "red-auth"}, app...))
	b.eventually(time.Minute, append([]string{"app", "list"}, app...), "Running", "3/3")
	b.must("", append([]string{"app", "restart", "red-auth"}, app...), "restarting")

	// The cluster holds what Berth said; a second application lists beside the first.
	dep, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 3 {
		t.Fatalf("deployment in the cluster: %v", err)
	}
	b.must("", append([]string{"app", "deploy", "blue-pay", "v1"}, app...))
	b.eventually(2*time.Minute, append([]string{"app", "list"}, app...), "blue-pay", "Running", "1/1")

	// Bad input names the field; nothing changes.
	out, err = b.run("", append([]string{"app", "scale", "red-auth", "0"}, app...)...)
	if err == nil || !strings.Contains(out+err.Error(), "replicas") {
		t.Errorf("scale to 0: %v %s, want an error naming replicas", err, out)
	}
	out, err = b.run("", append([]string{"app", "deploy", "red-auth", "v9"}, app...)...)
	if err == nil {
		t.Errorf("deploying an unknown version succeeded: %s", out)
	}

	b.must("", append([]string{"app", "undeploy", "red-auth"}, app...), "removing")
	b.eventually(time.Minute, append([]string{"app", "list"}, app...), "blue-pay")
	deadline := time.Now().Add(time.Minute)
	for {
		out, _ := b.run("", append([]string{"app", "list"}, app...)...)
		if !strings.Contains(out, "red-auth") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("red-auth still listed after undeploy:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.must("", []string{"audit", "list", "--action", "deployment."}, "deployment.deploy", "deployment.scale",
		"deployment.stop", "deployment.start", "deployment.restart", "deployment.delete", "deployment.apply")
	b.must("", []string{"audit", "verify"}, "OK")
}

func TestWatchStreamsStatusChangesAsTheyHappen(t *testing.T) {
	b, _, _ := onCluster(t, "bank-pay-watch", "")

	ctx, cancel := context.WithCancel(t.Context())
	var out logtest.Buffer
	done := make(chan error, 1)
	go func() { done <- b.runTo(ctx, &out, "", "app", "watch", "--env", "dev") }()
	b.must("", []string{"app", "deploy", "red-auth", "v1", "--env", "dev"})
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "Running") {
		if time.Now().After(deadline) {
			t.Fatalf("watch never streamed Running:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 || !strings.Contains(out.String(), "Progressing") {
		t.Errorf("watch streamed %d lines, want the rollout's progress before Running:\n%s", len(lines), out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ended with %v", err)
	}
}
