package clustertest

import (
	"log/slog"
	"testing"
	"time"

	"berth.dev/berth/internal/kube"
)

// Registry returns a kube.Registry holding the cluster as name, connected
// and ready (its watches synced); it is closed when t ends.
func (c *Cluster) Registry(t testing.TB, name string) *kube.Registry {
	t.Helper()
	reg := kube.NewRegistry(slog.New(slog.DiscardHandler), nil)
	t.Cleanup(reg.Close)
	if err := reg.ConnectConfig(t.Context(), name, c.RESTConfig()); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AwaitReady(t.Context(), name, time.Minute); err != nil {
		t.Fatal(err)
	}
	return reg
}
