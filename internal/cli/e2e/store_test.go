package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestTheAppStoreFromTheCLI installs the starter Redis chart with `berth
// store`, lists it, sees its objects in the environment's namespace with
// Berth's labels, refuses values that fail the chart's schema naming the
// value, and uninstalls it, leaving nothing.
func TestTheAppStoreFromTheCLI(t *testing.T) {
	b, c, ns := onCluster(t, "bank-pay-store", "")
	b.must("", []string{"store", "search", "redis"}, "starter", "redis", "1.0.0")
	b.must("", []string{"store", "catalog"}, "java-service", "static-site", "postgresql")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("replicas: two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := b.run("", "store", "install", "cache", "-e", "dev", "--chart", "redis", "--version", "1.0.0", "-f", bad)
	if err == nil || !strings.Contains(err.Error(), "values: ") || !strings.Contains(err.Error(), "at '/replicas'") {
		t.Fatalf("install with bad values: %v\n%s", err, out)
	}

	b.must("", []string{"store", "install", "cache", "-e", "dev", "--chart", "redis", "--version", "1.0.0"}, "Installed redis 1.0.0 as cache version r1")
	b.eventually(2*time.Minute, []string{"store", "list"}, "cache", "r1", "starter/redis", "yes")
	for _, get := range []func() (map[string]string, error){
		func() (map[string]string, error) {
			d, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), "cache", metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return d.Spec.Template.Labels, nil
		},
		func() (map[string]string, error) {
			cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(t.Context(), "cache-conf", metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			return cm.Labels, nil
		},
	} {
		l, err := get()
		if err != nil || l["berth.dev/app"] != "cache" || l["berth.dev/tenant"] != "bank" || l["app.kubernetes.io/managed-by"] != "berth" {
			t.Fatalf("labels %v, %v", l, err)
		}
	}

	b.must("", []string{"store", "uninstall", "cache", "-e", "dev"}, "Uninstalling cache")
	err = wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "cache", metav1.GetOptions{})
		_, cerr := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "cache-conf", metav1.GetOptions{})
		return apierrors.IsNotFound(err) && apierrors.IsNotFound(cerr), nil
	})
	if err != nil {
		t.Fatal("the install's objects are still there after uninstall")
	}
	b.must("", []string{"audit", "list", "--action", "appstore.install"}, "appstore.install")
}
