package sso

import (
	"context"
	"slices"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/tenancy"
)

// ProviderInfo is what the console shows of a directory or OIDC provider
// on its login page.
type ProviderInfo struct {
	Name        string      `json:"name"`
	Kind        string      `json:"kind"`
	DisplayName DisplayName `json:"displayName"`
}

// Service provisions signed-on users, keeps their role bindings in step
// with the GroupBindings, and manages the GroupBindings. It is safe for
// concurrent use.
type Service struct {
	clock     clock.Clock
	identity  *identity.Service
	tenancy   *tenancy.Service
	providers []ProviderInfo
}

// NewService returns a Service for the configured providers (it keeps the
// slice), provisioning users through id and granting bindings through t.
func NewService(c clock.Clock, id *identity.Service, t *tenancy.Service, providers []ProviderInfo) *Service {
	return &Service{clock: c, identity: id, tenancy: t, providers: providers}
}

// Infos lists the configured directories and providers from c, in order:
// directories first.
func (c Config) Infos() []ProviderInfo {
	var out []ProviderInfo
	for _, d := range c.Directories {
		out = append(out, ProviderInfo{Name: d.Name, Kind: KindLDAP, DisplayName: orName(d.DisplayName, d.Name)})
	}
	for _, o := range c.OIDC {
		out = append(out, ProviderInfo{Name: o.Name, Kind: KindOIDC, DisplayName: orName(o.DisplayName, o.Name)})
	}
	return out
}

func orName(d DisplayName, name string) DisplayName {
	if len(d) > 0 {
		return d
	}
	return DisplayName{"en": name, "zh-CN": name}
}

// Providers returns the configured providers; the caller must not change
// the slice.
func (s *Service) Providers() []ProviderInfo { return s.providers }

// Names returns the providers' names.
func (s *Service) Names() []string {
	out := make([]string, len(s.providers))
	for i, p := range s.providers {
		out[i] = p.Name
	}
	return out
}

// Kind returns the kind of the named provider, "" when there is none.
func (s *Service) Kind(name string) string {
	i := slices.IndexFunc(s.providers, func(p ProviderInfo) bool { return p.Name == name })
	if i < 0 {
		return ""
	}
	return s.providers[i].Kind
}

func (s *Service) known(name string) bool { return s.Kind(name) != "" }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, st audit.Writer, a audit.Actor, e audit.Event) error {
	_, err := audit.Append(ctx, st, s.now(), a, e)
	return err
}
