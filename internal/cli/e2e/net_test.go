package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestNetworkAssetsFromTheCLI is the platform team's tour of `berth net`:
// a cluster pool split to a tenant and a project, an application exposed
// on the next free node port (the Service in the cluster carries it and
// `app list` shows node IP:port), a refused request naming the ports,
// isolation switched on (a NetworkPolicy appears), a bandwidth limit set,
// and all of it in the audit trail.
func TestNetworkAssetsFromTheCLI(t *testing.T) {
	b, c, ns := onCluster(t, "bank-pay-net", "")
	app := []string{"--env", "dev"}
	b.must("", []string{"net", "ports", "set", "--cluster", "local", "30000-30999"}, "cluster pool on local: 30000-30999")
	b.must("", []string{"net", "ports", "set", "--cluster", "local", "-t", "bank", "30050-30099"}, "tenant bank on local: 30050-30099")
	b.must("", []string{"net", "ports", "set", "--cluster", "local", "-t", "bank", "-p", "pay", "30061-30062, 30064"},
		"project bank/pay on local: 30061-30062, 30064")
	out, err := b.run("", "net", "ports", "set", "--cluster", "local", "-t", "bank", "-p", "pay", "30090-30120")
	if err == nil || !strings.Contains(out+err.Error(), "ports 30100-30120 are outside the ports of tenant bank on local") {
		t.Fatalf("a grant outside the tenant's ports: %v %s", err, out)
	}

	// The server may still be connecting to the cluster: deploys are refused until it answers.
	b.eventually(time.Minute, append([]string{"app", "deploy", "red-auth", "v1"}, app...), "deploying version v1 to dev")
	b.must("", append([]string{"net", "expose", "red-auth", "--port", "http"}, app...), "exposed on node port 30061 of cluster local")
	_, err = b.run("", append([]string{"net", "expose", "red-auth", "--port", "http", "--node-port", "30063"}, app...)...)
	if err == nil || !strings.Contains(err.Error(), "port 30063 is not among the ports of project bank/pay on local (30061-30062, 30064)") {
		t.Fatalf("a node port outside the project's: %v", err)
	}
	b.must("", []string{"net", "ports"}, "bank/pay on local", "used:      30061", "free:      30062, 30064", "30061      bank/pay/red-auth  dev")
	b.eventually(2*time.Minute, append([]string{"app", "list"}, app...), "red-auth", ":30061")
	err = wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "red-auth-nodeport", metav1.GetOptions{})
		return err == nil && svc.Spec.Ports[0].NodePort == 30061, nil
	})
	if err != nil {
		t.Fatal("the NodePort Service with node port 30061 never appeared")
	}

	b.must("", []string{"net", "isolation", "set", "--level", "project", "--allow", "ops->red-auth"}, "bank", "pay", "project", "ops->bank/pay/red-auth")
	b.must("", []string{"net", "isolation"}, "TENANT", "bank")
	err = wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.Client.NetworkingV1().NetworkPolicies(ns).Get(ctx, "berth-isolation", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatal("the isolation NetworkPolicy never appeared")
	}
	b.must("", []string{"net", "bandwidth", "set", "--ingress", "1G", "--egress", "500M"}, "DIRECTION", "ingress", "1G")

	b.must("", append([]string{"net", "unexpose", "red-auth", "--port", "http"}, app...), "no longer exposed")
	b.must("", []string{"net", "ports"}, "free:      30061-30062, 30064")
	b.must("", []string{"audit", "list", "--action", "ports."}, "ports.set", "ports.expose", "ports.release")
	b.must("", []string{"audit", "list", "--action", "isolation."}, "isolation.set")
	b.must("", []string{"audit", "verify"}, "OK")
}
