package apps

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Service applies the rules of applications, versions and tiers. It is
// safe for concurrent use.
type Service struct {
	clock   clock.Clock
	tenancy *tenancy.Service
}

// NewService returns a Service reading time from c and reserving quota
// through t.
func NewService(c clock.Clock, t *tenancy.Service) *Service {
	return &Service{clock: c, tenancy: t}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, st audit.Writer, a audit.Actor, e audit.Event) error {
	_, err := audit.Append(ctx, st, s.now(), a, e)
	return err
}

func appPath(t, p, a string) string { return "tenants/" + t + "/projects/" + p + "/applications/" + a }

func page[T any](o resource.ListOptions, key func(T) string, list func(after string, limit int) ([]T, error)) (resource.Page[T], error) {
	after, err := o.After()
	if err != nil {
		return resource.Page[T]{}, err
	}
	limit := o.PageLimit()
	items, err := list(after, limit+1)
	if err != nil {
		return resource.Page[T]{}, err
	}
	return resource.NewPage(items, limit, key), nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
