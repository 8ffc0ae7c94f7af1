package controller

import (
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/traffic"
)

// gwRoute is application app of environment env on cluster in namespace ns,
// routed to its own Service.
func gwRoute(cluster, ns, env, app string) (deploy.Key, traffic.Route) {
	k := deploy.Key{Tenant: "t-" + cluster, Project: "p", Environment: env, Application: app}
	return k, traffic.Route{Name: app, Namespace: ns, Cluster: cluster, Hosts: []string{app + "." + ns}, Service: app, Port: 8080,
		Stable: traffic.Backend{Version: "v1", Service: app}}
}

func envOf(path string, pairs ...any) envPart {
	e := newEnvPart(path)
	for i := 0; i < len(pairs); i += 2 {
		e.put(pairs[i].(deploy.Key), pairs[i+1].(traffic.Route))
	}
	e.build()
	return *e
}

func appNames(t *testing.T, envs []envPart, prev map[string]part) ([]string, map[string]part, map[string]string) {
	t.Helper()
	units, accepted, rejected := merge(envs, prev)
	pub := gateway.NewPublisher()
	if err := pub.Set(units); err != nil {
		t.Fatalf("merged units do not publish: %v", err)
	}
	cfg, err := gateway.Decode(pub.Current())
	if err != nil {
		t.Fatalf("merged configuration does not validate: %v", err)
	}
	var names []string
	for _, a := range cfg.Apps {
		names = append(names, a.Name+"->"+a.Stable.Service.Name)
	}
	return names, accepted, rejected
}

func TestGatewayConfigRoutesTwoClustersWithTheSameNamespaceAndApplication(t *testing.T) {
	ka, ra := gwRoute("east", "bank", "prod", "pay")
	kb, rb := gwRoute("west", "bank", "prod", "pay")
	names, _, rejected := appNames(t, []envPart{envOf("tenants/a/projects/p/environments/prod", ka, ra),
		envOf("tenants/b/projects/p/environments/prod", kb, rb)}, nil)
	if want := []string{"east/bank/pay->pay", "west/bank/pay->pay"}; !slices.Equal(names, want) || len(rejected) != 0 {
		t.Fatalf("apps %v (rejected %v), want %v and nothing rejected", names, rejected, want)
	}
}

func TestGatewayConfigPublishesTheGoodEnvironmentsPastABadOne(t *testing.T) {
	kg, good := gwRoute("east", "bank", "prod", "pay")
	kb, bad := gwRoute("west", "shop", "prod", "cart")
	first, accepted, rejected := appNames(t, []envPart{envOf("good", kg, good), envOf("bad", kb, bad)}, nil)
	if len(first) != 2 || len(rejected) != 0 {
		t.Fatalf("first build: %v, rejected %v", first, rejected)
	}

	// The good environment changes; the bad one becomes invalid (a gray
	// route through the application's Service).
	good.Stable.Service = "pay--v2"
	bad.Gray = &traffic.Backend{Version: "v2", Service: "cart--v2"}
	names, _, rejected := appNames(t, []envPart{envOf("good", kg, good), envOf("bad", kb, bad)}, accepted)
	if want := []string{"east/bank/pay->pay--v2", "west/shop/cart->cart"}; !slices.Equal(names, want) {
		t.Fatalf("apps %v, want the good change published and the bad environment's last good part kept: %v", names, want)
	}
	if why := rejected["bad"]; len(rejected) != 1 || !strings.Contains(why, "selects every version") {
		t.Fatalf("rejected %v, want the bad environment with its reason", rejected)
	}

	// Without a last good part, the bad environment is left out.
	names, _, _ = appNames(t, []envPart{envOf("good", kg, good), envOf("bad", kb, bad)}, nil)
	if want := []string{"east/bank/pay->pay--v2"}; !slices.Equal(names, want) {
		t.Fatalf("apps %v, want %v", names, want)
	}
}

func TestGatewayConfigRejectsAnEnvironmentWhoseNamesAnotherHolds(t *testing.T) {
	k1, r1 := gwRoute("east", "bank", "prod", "pay")
	k2, r2 := gwRoute("east", "bank", "test", "pay") // the same cluster and namespace: the same names
	names, _, rejected := appNames(t, []envPart{envOf("a", k1, r1), envOf("b", k2, r2)}, nil)
	if !slices.Equal(names, []string{"east/bank/pay->pay"}) || !strings.Contains(rejected["b"], "another environment's") {
		t.Fatalf("apps %v, rejected %v: want the first kept and the second reported", names, rejected)
	}
}
