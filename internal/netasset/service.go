package netasset

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/tenancy"
)

// Service applies netasset's rules. Like the other domain services, every
// method takes the transaction-bound Store as its second argument and
// writes its audit record through it. It is safe for concurrent use.
//
// Port grants and allocations rely on write transactions being serialized
// (see internal/store); the database's unique key on (cluster, port) is
// the last guard that one port is never handed out twice.
type Service struct {
	clock   clock.Clock
	tenancy *tenancy.Service
	// changes, if set, hears of every deployment whose rendered objects
	// an allocation changed (change.Network) and of every isolation change
	// (change.Isolation), once they commit.
	changes *change.Bus
}

// NewService returns a Service reading time from c and keeping bandwidth
// quotas through t. changes may be nil.
func NewService(c clock.Clock, t *tenancy.Service, changes *change.Bus) *Service {
	return &Service{clock: c, tenancy: t, changes: changes}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, st audit.Writer, a audit.Actor, e audit.Event) error {
	_, err := audit.Append(ctx, st, s.now(), a, e)
	return err
}

func grantPath(cluster, tenant, project string) string {
	switch {
	case tenant == "":
		return "clusters/" + cluster + "/ports"
	case project == "":
		return "tenants/" + tenant + "/network/ports/" + cluster
	}
	return "tenants/" + tenant + "/projects/" + project + "/network/ports/" + cluster
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
