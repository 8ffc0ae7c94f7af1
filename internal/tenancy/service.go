package tenancy

import (
	"context"
	"fmt"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
)

// Sealer encrypts secrets at rest (package seal's AES-GCM implements it).
// aad binds a ciphertext to its owner so it cannot be moved to another.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

// Service applies tenancy's rules. It is safe for concurrent use.
type Service struct {
	clock  clock.Clock
	sealer Sealer
	// namespaces, when set, checks environments' namespaces on their
	// cluster (SetNamespaceInspector).
	namespaces NamespaceInspector
}

// NewService returns a Service reading time from c and sealing kubeconfigs
// with s.
func NewService(c clock.Clock, s Sealer) *Service {
	return &Service{clock: c, sealer: s}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, st audit.Writer, a audit.Actor, e audit.Event) error {
	_, err := audit.Append(ctx, st, s.now(), a, e)
	return err
}

func tenantPath(t string) string     { return "tenants/" + t }
func projectPath(t, p string) string { return "tenants/" + t + "/projects/" + p }
func envPath(t, p, e string) string  { return projectPath(t, p) + "/environments/" + e }
func clusterPath(c string) string    { return "clusters/" + c }
func scopePath(sc Scope) string {
	switch sc.Kind() {
	case "platform":
		return "platform"
	case "tenant":
		return tenantPath(sc.Tenant)
	}
	return projectPath(sc.Tenant, sc.Project)
}

// page runs a store list for o and wraps the result as a page.
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

func checkRV(errs *resource.Errors, rv int64) {
	if rv <= 0 {
		errs.Add("resourceVersion", "must be the resourceVersion that was read (a positive number), got %d", rv)
	}
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
