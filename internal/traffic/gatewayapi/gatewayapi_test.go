package gatewayapi_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/gatewayapi"
	"berth.dev/berth/internal/traffic/traffictest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestRenderFollowsTheRuleSemantics(t *testing.T) {
	t.Parallel()
	for _, c := range traffictest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			checkCase(t, c)
		})
	}
}

// TestRenderAgreesWithDecideOnRandomRules draws rule sets and requests
// from small alphabets, so that values collide often.
func TestRenderAgreesWithDecideOnRandomRules(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(6, 2))
	for range 2000 {
		checkCase(t, traffictest.RandomCase(rnd))
	}
}

// FuzzRender checks the rendered objects against Decide for arbitrary
// rule sets and requests.
func FuzzRender(f *testing.F) {
	f.Add([]byte(`{"match":[{"headers":[{"header":"X-Org-Branch","values":["0101","0102"]},{"header":"x-org-branch","values":["0102"]}]}],"weight":20}`),
		"X-Org-Branch", "0102", "X-Org-Region", "north")
	f.Add([]byte(`{"match":[{"headers":[{"header":"X-Org-Teller","values":["a|b","(a)"]}]}]}`), "x-org-teller", "a|b", "", "")
	f.Add([]byte(`{"blueGreen":"gray"}`), "X-Org-Teller", "T1", "X-Org-Teller", "T2")
	f.Fuzz(func(t *testing.T, rulesJSON []byte, h1, v1, h2, v2 string) {
		c, ok := traffictest.FuzzCase(rulesJSON, h1, v1, h2, v2)
		if !ok {
			return
		}
		if _, err := gatewayapi.Render(c.Route); err != nil {
			var ve *resource.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Render: %v", err)
			}
			return // beyond the provider's limits, refused by name
		}
		checkCase(t, c)
	})
}

func checkCase(t *testing.T, c traffictest.Case) {
	t.Helper()
	want, err := c.GrayShare()
	if err != nil {
		t.Fatalf("%s: GrayShare: %v", c.Route.Rules, err)
	}
	route := decode(t, mustRender(t, c.Route))
	got, routed, err := evaluate(route, c.Route, c.Request)
	if err != nil {
		t.Fatalf("%s: evaluate: %v", c.Route.Rules, err)
	}
	if !routed || got != want {
		t.Errorf("%s with %v: the HTTPRoute sends %d%% to gray (routed %v), Decide %d%%", c.Route.Rules, c.Request, got, routed, want)
	}
}

func TestRenderLeavesPathsOutsideThePrefixUnrouted(t *testing.T) {
	t.Parallel()
	r := traffictest.Route(traffic.Rules{Match: traffictest.Pilot(), Weight: 50})
	r.PathPrefix = "/api"
	route := decode(t, mustRender(t, r))
	for path, want := range map[string]bool{"/api": true, "/api/": true, "/api/pay": true, "/apix": false, "/ap": false, "/": false} {
		for _, h := range []traffictest.Headers{traffictest.H(), traffictest.H("X-Org-Teller", "T900")} {
			_, routed, err := evaluate(route, r, traffictest.Request{Path: path, Headers: h})
			if err != nil {
				t.Fatal(err)
			}
			if routed != want {
				t.Errorf("path %s with %v: routed = %v, want %v", path, h, routed, want)
			}
		}
	}
}

// TestRenderSplitsLargeSetsAcrossRules fills the route up to the CRD's
// limit of matches: the expansion spans several rules and still routes
// exactly.
func TestRenderSplitsLargeSetsAcrossRules(t *testing.T) {
	t.Parallel()
	var branches []string
	for i := range gatewayapi.MaxMatches - 1 {
		branches = append(branches, fmt.Sprintf("%04d", i))
	}
	r := traffictest.Route(traffic.Rules{Match: []traffic.Clause{traffictest.Clause(traffictest.Cond("X-Org-Branch", branches...))}})
	route := decode(t, mustRender(t, r))
	if len(route.Spec.Rules) != 3 {
		t.Errorf("%d rules, want 2 gray rules of at most %d matches and the default", len(route.Spec.Rules), gatewayapi.MaxMatchesPerRule)
	}
	for _, b := range []string{"0000", "0063", "0064", "0126", "0127"} {
		c := traffictest.Case{Route: r, Request: traffictest.Request{Path: "/", Headers: traffictest.H("X-Org-Branch", b)}}
		want, _ := c.GrayShare()
		got, _, err := evaluate(route, r, c.Request)
		if err != nil || got != want {
			t.Errorf("branch %s: %d%% to gray (%v), want %d%%", b, got, err, want)
		}
	}
}

func TestRenderRefusesWhatAnHTTPRouteCannotHold(t *testing.T) {
	t.Parallel()
	values := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprint(i))
		}
		return out
	}
	var wide traffic.Clause
	for i := range gatewayapi.MaxHeadersPerMatch + 1 {
		wide.Headers = append(wide.Headers, traffictest.Cond(fmt.Sprintf("X-H%d", i), "v"))
	}
	tests := []struct {
		name  string
		match []traffic.Clause
		want  string
	}{
		{"one value too many", []traffic.Clause{traffictest.Clause(traffictest.Cond("X-Org-Branch", values(gatewayapi.MaxMatches)...))}, "rules.match"},
		{"a product of sets too large", []traffic.Clause{traffictest.Clause(
			traffictest.Cond("X-Org-Region", values(12)...), traffictest.Cond("X-Org-Branch", values(11)...))}, "rules.match"},
		{"a clause on too many headers", []traffic.Clause{traffictest.Clause(traffictest.Cond("X-A", "1")), wide}, "rules.match[1].headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := gatewayapi.Render(traffictest.Route(traffic.Rules{Match: tt.match}))
			var ve *resource.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Path != tt.want {
				t.Fatalf("Render = %v, want one error at %s", err, tt.want)
			}
		})
	}
}

func TestRenderNeedsAGateway(t *testing.T) {
	t.Parallel()
	r := traffictest.Route(traffic.Rules{})
	r.Gateway = ""
	_, err := gatewayapi.Render(r)
	var ve *resource.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Path != "gateway" {
		t.Fatalf("Render = %v, want an error at gateway", err)
	}
	r.Gateway = "public"
	route := decode(t, mustRender(t, r))
	if p := route.Spec.ParentRefs; len(p) != 1 || p[0].Name != "public" || p[0].Namespace != nil {
		t.Errorf("parentRefs = %+v, want the Gateway public in the route's namespace", p)
	}
}

// TestRenderGolden pins the objects of representative routes; the
// cluster test in internal/kube applies every golden file to a real API
// server with the Gateway API CRDs. Regenerate with -update.
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for name, r := range traffictest.Representative() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := traffictest.MarshalObjects(mustRender(t, r))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func mustRender(t *testing.T, r traffic.Route) []*unstructured.Unstructured {
	t.Helper()
	objs, err := gatewayapi.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func decode(t *testing.T, objs []*unstructured.Unstructured) *gwv1.HTTPRoute {
	t.Helper()
	if len(objs) != 1 || objs[0].GetKind() != "HTTPRoute" || objs[0].GetAPIVersion() != "gateway.networking.k8s.io/v1" {
		t.Fatalf("Render returned %d objects, want one gateway.networking.k8s.io/v1 HTTPRoute", len(objs))
	}
	var route gwv1.HTTPRoute
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(objs[0].Object, &route, true); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &route
}

// candidate is a match that holds for the request, with its rule.
type candidate struct {
	rule  int
	match gwv1.HTTPRouteMatch
}

// evaluate routes req by route as the Gateway API specifies for one
// HTTPRoute (HTTPRouteRule docs): among the matches that hold, the one
// with the highest precedence wins — an exact path, then the longest
// prefix, then a method, then the most header matches, then the most
// query parameters, then the earlier rule. The winner's rule shares
// traffic by backendRef weight (default 1). It returns the percentage
// that reaches r's gray Service and whether any rule took the request.
func evaluate(route *gwv1.HTTPRoute, r traffic.Route, req traffictest.Request) (int, bool, error) {
	var best *candidate
	for i, rule := range route.Spec.Rules {
		matches := rule.Matches
		if len(matches) == 0 {
			matches = []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: ptr(gwv1.PathMatchPathPrefix), Value: ptr("/")}}}
		}
		for _, m := range matches {
			ok, err := holds(m, req)
			if err != nil {
				return 0, false, err
			}
			if ok && (best == nil || outranks(m, best.match)) {
				best = &candidate{rule: i, match: m}
			}
		}
	}
	if best == nil {
		return 0, false, nil
	}
	return share(route.Spec.Rules[best.rule].BackendRefs, r)
}

func holds(m gwv1.HTTPRouteMatch, req traffictest.Request) (bool, error) {
	if m.Method != nil || len(m.QueryParams) > 0 {
		return false, fmt.Errorf("unexpected method or query match %+v", m)
	}
	if !pathHolds(m.Path, req.Path) {
		return false, nil
	}
	for _, h := range m.Headers {
		if h.Type != nil && *h.Type != gwv1.HeaderMatchExact {
			return false, fmt.Errorf("unexpected header match type %s", *h.Type)
		}
		// Names compare case-insensitively; a repeated request header is
		// read as its values joined by "," (RFC 7230 3.2.2, which the
		// spec points proxies to).
		vs := req.Headers.Values(string(h.Name))
		if len(vs) == 0 || strings.Join(vs, ",") != h.Value {
			return false, nil
		}
	}
	return true, nil
}

// pathHolds applies PathPrefix: whole path elements, a trailing "/" of the
// prefix ignored.
func pathHolds(p *gwv1.HTTPPathMatch, path string) bool {
	typ, prefix := gwv1.PathMatchPathPrefix, "/"
	if p != nil && p.Type != nil {
		typ = *p.Type
	}
	if p != nil && p.Value != nil {
		prefix = *p.Value
	}
	if typ == gwv1.PathMatchExact {
		return path == prefix
	}
	prefix = strings.TrimSuffix(prefix, "/")
	return prefix == "" || path == prefix || strings.HasPrefix(path, prefix+"/")
}

func outranks(a, b gwv1.HTTPRouteMatch) bool {
	exact := func(m gwv1.HTTPRouteMatch) bool {
		return m.Path != nil && m.Path.Type != nil && *m.Path.Type == gwv1.PathMatchExact
	}
	length := func(m gwv1.HTTPRouteMatch) int {
		if m.Path == nil || m.Path.Value == nil {
			return 1
		}
		return len(*m.Path.Value)
	}
	switch {
	case exact(a) != exact(b):
		return exact(a)
	case length(a) != length(b):
		return length(a) > length(b)
	case (a.Method != nil) != (b.Method != nil):
		return a.Method != nil
	case len(a.Headers) != len(b.Headers):
		return len(a.Headers) > len(b.Headers)
	}
	return len(a.QueryParams) > len(b.QueryParams)
}

func share(refs []gwv1.HTTPBackendRef, r traffic.Route) (int, bool, error) {
	total, gray := int32(0), int32(0)
	for _, ref := range refs {
		b := ref.BackendRef
		if (b.Group != nil && *b.Group != "") || (b.Kind != nil && *b.Kind != "Service") || b.Namespace != nil ||
			b.Port == nil || int32(*b.Port) != r.Port {
			return 0, false, fmt.Errorf("backendRef %+v is not a Service of the route's namespace on port %d", b, r.Port)
		}
		w := int32(1)
		if b.Weight != nil {
			w = *b.Weight
		}
		switch {
		case r.Gray != nil && string(b.Name) == r.Gray.Service:
			gray += w
		case string(b.Name) != r.Stable.Service:
			return 0, false, fmt.Errorf("backendRef %s is neither the stable nor the gray Service", b.Name)
		}
		total += w
	}
	if total == 0 || gray*100%total != 0 {
		return 0, false, fmt.Errorf("weights %d of %d are not a whole percentage", gray, total)
	}
	return int(gray * 100 / total), true, nil
}

func ptr[T any](v T) *T { return &v }
