package tenancy

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/audit"
)

// eachCluster calls fn with every cluster record, in pages, in name order.
func eachCluster(ctx context.Context, st Store, fn func(ClusterRecord) error) error {
	after := ""
	for {
		page, err := st.ListClusters(ctx, after, 500)
		if err != nil {
			return fmt.Errorf("list clusters: %w", err)
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
		after = page[len(page)-1].Name
	}
}

// CheckSealed opens every cluster's kubeconfig with the service's sealer
// and returns how many there are, or the first that does not open: a
// server must not start with a key that cannot open the sealed data.
func (s *Service) CheckSealed(ctx context.Context, st Store) (int, error) {
	n := 0
	err := eachCluster(ctx, st, func(c ClusterRecord) error {
		if _, err := s.sealer.Open(c.SealedKubeconfig, clusterAAD(c.Name)); err != nil {
			return fmt.Errorf("open kubeconfig of cluster %s: %w", c.Name, err)
		}
		n++
		return nil
	})
	return n, err
}

// Reseal opens every cluster's kubeconfig with the service's sealer and
// seals it again with to, in st's transaction, and records
// "seal.rotate" with summary; it returns how many it re-sealed. Nothing is
// changed when one fails, provided the caller rolls back.
func (s *Service) Reseal(ctx context.Context, st Store, a audit.Actor, to Sealer, summary string) (int, error) {
	var recs []ClusterRecord
	if err := eachCluster(ctx, st, func(c ClusterRecord) error { recs = append(recs, c); return nil }); err != nil {
		return 0, err
	}
	now := s.now()
	for _, c := range recs {
		kc, err := s.sealer.Open(c.SealedKubeconfig, clusterAAD(c.Name))
		if err != nil {
			return 0, fmt.Errorf("open kubeconfig of cluster %s: %w", c.Name, err)
		}
		if c.SealedKubeconfig, err = to.Seal(kc, clusterAAD(c.Name)); err != nil {
			return 0, fmt.Errorf("seal kubeconfig of cluster %s: %w", c.Name, err)
		}
		prev := c.ResourceVersion
		c.ResourceVersion, c.UpdatedAt = prev+1, now
		if err := st.UpdateCluster(ctx, c, prev); err != nil {
			return 0, fmt.Errorf("update cluster %s: %w", c.Name, err)
		}
	}
	return len(recs), s.record(ctx, st, a, audit.Event{Action: "seal.rotate", Target: "seal",
		Summary: fmt.Sprintf("%s: re-sealed %d cluster kubeconfigs", summary, len(recs))})
}
