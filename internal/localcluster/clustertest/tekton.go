package clustertest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster"
)

var (
	tektonOnce sync.Once
	tekton     *localcluster.Tekton
	tektonErr  error
)

// Tekton starts the Tekton Pipelines controller beside the binary's
// cluster on first use (building it first on a fresh machine) and returns
// it; every test of the binary then shares it, and Main stops it. Only the
// tests that call it pay for it. A controller that cannot start fails t.
func (c *Cluster) Tekton(t testing.TB) *localcluster.Tekton {
	t.Helper()
	tektonOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		wd, err := os.Getwd()
		if err != nil {
			tektonErr = err
			return
		}
		dir, err := localcluster.FindTekton(ctx, os.Getenv, wd, os.Stderr)
		if err != nil {
			tektonErr = err
			return
		}
		files, err := localcluster.TektonCRDs(dir)
		if err != nil {
			tektonErr = err
			return
		}
		if _, err := kube.InstallEditedCRDs(ctx, c.RESTConfig(), localcluster.TektonStorageVersionOnly, files...); err != nil {
			tektonErr = err
			return
		}
		tekton, tektonErr = c.StartTekton(ctx, dir)
	})
	if tektonErr != nil {
		t.Fatalf("tekton: %v", tektonErr)
	}
	return tekton
}
