package tenancy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// MaxKubeconfigBytes bounds a registered kubeconfig.
const MaxKubeconfigBytes = 1 << 20

// MaxClusterQPS bounds a cluster's request rate (Cluster.QPS); its burst
// is bounded by twice as many.
const MaxClusterQPS = 10000

func validateCluster(c Cluster, kubeconfig []byte, required bool) error {
	var errs resource.Errors
	errs.CheckName("name", c.Name)
	errs.CheckLen("displayName", c.DisplayName, 200)
	errs.CheckLen("zone", c.Zone, 63)
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		errs.CheckLen("labels."+k, c.Labels[k], 256)
	}
	if c.QPS < 0 || c.QPS > MaxClusterQPS {
		errs.Add("qps", "must be from 1 to %d requests per second, or 0 for the server's clusterQPS, got %d", MaxClusterQPS, c.QPS)
	}
	switch {
	case c.Burst < 0 || c.Burst > 2*MaxClusterQPS:
		errs.Add("burst", "must be from 1 to %d requests, or 0 for twice the rate, got %d", 2*MaxClusterQPS, c.Burst)
	case c.Burst > 0 && c.Burst < c.QPS:
		errs.Add("burst", "must be at least qps (%d), got %d", c.QPS, c.Burst)
	}
	switch {
	case required && len(kubeconfig) == 0:
		errs.Add("kubeconfig", "must not be empty")
	case len(kubeconfig) > MaxKubeconfigBytes:
		errs.Add("kubeconfig", "must be at most %d bytes, got %d", MaxKubeconfigBytes, len(kubeconfig))
	}
	return errs.Err()
}

// rateSummary says a cluster's own request rate for its audit record, ""
// when it takes the server's.
func rateSummary(c Cluster) string {
	switch {
	case c.QPS == 0 && c.Burst == 0:
		return ""
	case c.Burst == 0:
		return fmt.Sprintf(", %d requests/s", c.QPS)
	case c.QPS == 0:
		return fmt.Sprintf(", bursts of %d requests", c.Burst)
	}
	return fmt.Sprintf(", %d requests/s, bursts of %d", c.QPS, c.Burst)
}

func clusterAAD(name string) []byte { return []byte("berth/cluster/" + name) }

// RegisterCluster records cluster c with its kubeconfig, which is stored
// sealed (AES-GCM) and never written to the audit trail.
func (s *Service) RegisterCluster(ctx context.Context, st Store, a audit.Actor, c Cluster, kubeconfig []byte) (Cluster, error) {
	if err := validateCluster(c, kubeconfig, true); err != nil {
		return Cluster{}, err
	}
	sealed, err := s.sealer.Seal(kubeconfig, clusterAAD(c.Name))
	if err != nil {
		return Cluster{}, fmt.Errorf("seal kubeconfig of cluster %s: %w", c.Name, err)
	}
	now := s.now()
	c.ResourceVersion, c.CreatedAt, c.UpdatedAt = 1, now, now
	if err := st.CreateCluster(ctx, ClusterRecord{Cluster: c, SealedKubeconfig: sealed}); err != nil {
		return Cluster{}, fmt.Errorf("register cluster %s: %w", c.Name, err)
	}
	return c, s.record(ctx, st, a, audit.Event{Action: "cluster.register", Target: clusterPath(c.Name),
		Summary: fmt.Sprintf("registered cluster %s (zone %q%s)", c.Name, c.Zone, rateSummary(c))})
}

// UpdateCluster replaces the cluster's description, zone and labels and,
// when kubeconfig is not empty, its kubeconfig; c.ResourceVersion must be
// the version read.
func (s *Service) UpdateCluster(ctx context.Context, st Store, a audit.Actor, c Cluster, kubeconfig []byte) (Cluster, error) {
	if err := validateCluster(c, kubeconfig, false); err != nil {
		return Cluster{}, err
	}
	var errs resource.Errors
	checkRV(&errs, c.ResourceVersion)
	if err := errs.Err(); err != nil {
		return Cluster{}, err
	}
	old, err := st.GetCluster(ctx, c.Name)
	if err != nil {
		return Cluster{}, fmt.Errorf("update cluster %s: %w", c.Name, err)
	}
	rec := ClusterRecord{Cluster: c, SealedKubeconfig: old.SealedKubeconfig}
	summary := fmt.Sprintf("updated cluster %s", c.Name)
	if c.QPS != old.QPS || c.Burst != old.Burst {
		summary += fmt.Sprintf(" (request rate %s)", strings.TrimPrefix(rateSummary(c), ", "))
	}
	if len(kubeconfig) > 0 {
		if rec.SealedKubeconfig, err = s.sealer.Seal(kubeconfig, clusterAAD(c.Name)); err != nil {
			return Cluster{}, fmt.Errorf("seal kubeconfig of cluster %s: %w", c.Name, err)
		}
		summary += " and replaced its kubeconfig"
	}
	prev := c.ResourceVersion
	rec.CreatedAt, rec.UpdatedAt, rec.ResourceVersion = old.CreatedAt, s.now(), old.ResourceVersion+1
	if err := st.UpdateCluster(ctx, rec, prev); err != nil {
		return Cluster{}, fmt.Errorf("update cluster %s: %w", c.Name, err)
	}
	return rec.Cluster, s.record(ctx, st, a, audit.Event{Action: "cluster.update", Target: clusterPath(c.Name), Summary: summary})
}

// DeregisterCluster deletes a cluster no environment is bound to (else
// resource.ErrInUse). rv 0 skips the version check.
func (s *Service) DeregisterCluster(ctx context.Context, st Store, a audit.Actor, name string, rv int64) error {
	if err := st.DeleteCluster(ctx, name, rv); err != nil {
		return fmt.Errorf("deregister cluster %s: %w", name, err)
	}
	return s.record(ctx, st, a, audit.Event{Action: "cluster.deregister", Target: clusterPath(name),
		Summary: fmt.Sprintf("deregistered cluster %s", name)})
}

// GetCluster returns the named cluster, without its kubeconfig.
func (s *Service) GetCluster(ctx context.Context, st Store, name string) (Cluster, error) {
	c, err := st.GetCluster(ctx, name)
	return c.Cluster, wrap("get cluster "+name, err)
}

// Kubeconfig returns the decrypted kubeconfig of the named cluster, for the
// cluster driver only: never return it through the API.
func (s *Service) Kubeconfig(ctx context.Context, st Store, name string) ([]byte, error) {
	c, err := st.GetCluster(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("get cluster %s: %w", name, err)
	}
	kc, err := s.sealer.Open(c.SealedKubeconfig, clusterAAD(name))
	if err != nil {
		return nil, fmt.Errorf("open kubeconfig of cluster %s: %w", name, err)
	}
	return kc, nil
}

// ListClusters returns a page of clusters by name.
func (s *Service) ListClusters(ctx context.Context, st Store, o resource.ListOptions) (resource.Page[Cluster], error) {
	p, err := page(o, func(c ClusterRecord) string { return c.Name }, func(after string, limit int) ([]ClusterRecord, error) {
		return st.ListClusters(ctx, after, limit)
	})
	out := resource.Page[Cluster]{Continue: p.Continue, Items: make([]Cluster, len(p.Items))}
	for i, c := range p.Items {
		out.Items[i] = c.Cluster
	}
	return out, err
}
