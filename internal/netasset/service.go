package netasset

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/deploy"
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
	// notify, if set, hears of every environment deployment whose rendered
	// objects an allocation changed, once it commits.
	notify func(deploy.Key)
	// onIsolation, if set, hears of every committed isolation change.
	onIsolation func()
}

// NewService returns a Service reading time from c and keeping bandwidth
// quotas through t. notify may be nil.
func NewService(c clock.Clock, t *tenancy.Service, notify func(deploy.Key)) *Service {
	return &Service{clock: c, tenancy: t, notify: notify}
}

// OnIsolationChange sets f to be called after every committed isolation
// change (the policy controller's wake-up). Call it before use.
func (s *Service) OnIsolationChange(f func()) { s.onIsolation = f }

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
