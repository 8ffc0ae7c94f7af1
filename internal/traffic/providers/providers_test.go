package providers_test

import (
	"slices"
	"testing"

	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/providers"
)

// The names environments may choose are exactly the registered providers.
func TestEveryNameAnEnvironmentMayChooseHasAProvider(t *testing.T) {
	if got, want := providers.Names(), tenancy.TrafficProviders; !slices.Equal(got, want) {
		t.Fatalf("providers %q, environments may name %q", got, want)
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name      string
		want      string
		published bool
		groups    []string
	}{
		{name: "", want: "gateway", published: true},
		{name: "gateway", want: "gateway", published: true},
		{name: "istio", want: "istio", groups: []string{"networking.istio.io"}},
		{name: "gatewayapi", want: "gatewayapi", groups: []string{"gateway.networking.k8s.io"}},
	} {
		p, err := providers.Lookup(tc.name)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tc.name, err)
		}
		if p.Name != tc.want || p.Published != tc.published || !slices.Equal(p.Groups, tc.groups) {
			t.Errorf("Lookup(%q) = %s published=%v groups=%q, want %s published=%v groups=%q",
				tc.name, p.Name, p.Published, p.Groups, tc.want, tc.published, tc.groups)
		}
		if p.Published != (p.Render == nil) {
			t.Errorf("%s: published %v but Render set %v", p.Name, p.Published, p.Render != nil)
		}
	}
	if _, err := providers.Lookup("linkerd"); err == nil {
		t.Error("Lookup(linkerd) found a provider")
	}
}

// What a provider renders is recognised as a route by its API group, so
// the controller applies it before the workloads and only where it owns it.
func TestWhatAProviderRendersIsARoute(t *testing.T) {
	r := traffic.Route{Name: "pay", Namespace: "bank-prod", Service: "pay", Port: 8080, Gateway: "edge",
		Stable: traffic.Backend{Version: "v1", Service: "pay--v1"}}
	for _, name := range providers.Names() {
		p, _ := providers.Lookup(name)
		if p.Published {
			continue
		}
		objs, err := p.Render(r)
		if err != nil {
			t.Fatalf("%s: render %+v: %v", name, r, err)
		}
		if len(objs) == 0 {
			t.Fatalf("%s rendered nothing", name)
		}
		for _, o := range objs {
			if !providers.IsRoute(o.GroupVersionKind().Group) {
				t.Errorf("%s rendered %s %s, whose group %q is not a route's", name, o.GetKind(), o.GetName(), o.GroupVersionKind().Group)
			}
		}
	}
	for _, g := range []string{"", "apps", "networking.k8s.io"} {
		if providers.IsRoute(g) {
			t.Errorf("group %q taken for a route", g)
		}
	}
}
