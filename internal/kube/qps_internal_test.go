package kube

import (
	"log/slog"
	"testing"

	"k8s.io/client-go/rest"
)

// TestClustersAreReachedAtTheConfiguredRate: the request rate to each
// cluster's API server is the server's clusterQPS, with bursts of twice as
// many, and 200 without it.
func TestClustersAreReachedAtTheConfiguredRate(t *testing.T) {
	for _, tc := range []struct{ set, qps, burst int }{{0, 200, 400}, {400, 400, 800}} {
		r := NewRegistry(slog.New(slog.DiscardHandler), nil)
		r.SetQPS(tc.set)
		if err := r.ConnectConfig(t.Context(), "c1", &rest.Config{Host: "https://127.0.0.1:1"}); err != nil {
			t.Fatal(err)
		}
		c, err := r.Get("c1")
		if err != nil {
			t.Fatal(err)
		}
		if c.cfg.QPS != float32(tc.qps) || c.cfg.Burst != tc.burst {
			t.Errorf("clusterQPS %d: QPS %v, burst %d; want %d, %d", tc.set, c.cfg.QPS, c.cfg.Burst, tc.qps, tc.burst)
		}
		r.Close()
	}
}

// TestAClusterIsReachedAtItsOwnRate: a cluster registered with a rate of
// its own is reached at it; a zero rate takes the server's, a zero burst
// twice the rate.
func TestAClusterIsReachedAtItsOwnRate(t *testing.T) {
	kc := []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n" +
		"contexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n")
	for _, tc := range []struct {
		server     int
		own        Rate
		qps, burst int
	}{
		{0, Rate{}, 200, 400}, {300, Rate{}, 300, 600}, {300, Rate{QPS: 50}, 50, 100},
		{300, Rate{QPS: 50, Burst: 60}, 50, 60}, {300, Rate{Burst: 1000}, 300, 1000},
	} {
		r := NewRegistry(slog.New(slog.DiscardHandler), nil)
		r.SetQPS(tc.server)
		if err := r.Connect(t.Context(), "c1", kc, tc.own); err != nil {
			t.Fatal(err)
		}
		c, err := r.Get("c1")
		if err != nil {
			t.Fatal(err)
		}
		if c.cfg.QPS != float32(tc.qps) || c.cfg.Burst != tc.burst {
			t.Errorf("server %d, cluster %+v: QPS %v, burst %d; want %d, %d", tc.server, tc.own, c.cfg.QPS, c.cfg.Burst, tc.qps, tc.burst)
		}
		r.Close()
	}
}
