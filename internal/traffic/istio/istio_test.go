package istio_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apinet "istio.io/api/networking/v1"
	clientnet "istio.io/client-go/pkg/apis/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/istio"
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
	rnd := rand.New(rand.NewPCG(6, 1))
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
		if _, err := istio.Render(c.Route); err != nil {
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
	objs, err := istio.Render(c.Route)
	if err != nil {
		t.Fatalf("%s: Render: %v", c.Route.Rules, err)
	}
	vs, dr := decode(t, objs)
	got, routed, err := evaluate(vs, dr, c.Route, c.Request)
	if err != nil {
		t.Fatalf("%s: evaluate: %v", c.Route.Rules, err)
	}
	if !routed || got != want {
		t.Errorf("%s with %v: Istio sends %d%% to gray (routed %v), Decide %d%%", c.Route.Rules, c.Request, got, routed, want)
	}
}

func TestRenderLeavesPathsOutsideThePrefixUnrouted(t *testing.T) {
	t.Parallel()
	r := traffictest.Route(traffic.Rules{Match: traffictest.Pilot(), Weight: 50})
	r.PathPrefix = "/api"
	vs, dr := decode(t, mustRender(t, r))
	for path, want := range map[string]bool{"/api": true, "/api/": true, "/api/pay": true, "/apix": false, "/ap": false, "/": false} {
		for _, h := range []traffictest.Headers{traffictest.H(), traffictest.H("X-Org-Teller", "T900")} {
			_, routed, err := evaluate(vs, dr, r, traffictest.Request{Path: path, Headers: h})
			if err != nil {
				t.Fatal(err)
			}
			if routed != want {
				t.Errorf("path %s with %v: routed = %v, want %v", path, h, routed, want)
			}
		}
	}
}

// TestRenderSplitsLongSetsIntoSeveralBlocks: a set too long for one
// regex Envoy accepts becomes several match blocks, still exact.
func TestRenderSplitsLongSetsIntoSeveralBlocks(t *testing.T) {
	t.Parallel()
	var branches []string
	for i := range 2000 {
		branches = append(branches, fmt.Sprintf("B%04d", i))
	}
	r := traffictest.Route(traffic.Rules{Match: []traffic.Clause{traffictest.Clause(
		traffictest.Cond("X-Org-Branch", branches...), traffictest.Cond("X-Org-Region", "north", "south"))}})
	vs, dr := decode(t, mustRender(t, r))
	blocks := vs.Spec.Http[0].Match
	if len(blocks) < 2 {
		t.Fatalf("%d match blocks, want the set split", len(blocks))
	}
	for _, b := range blocks {
		for name, m := range b.Headers {
			re := m.GetRegex()
			if len(re) > istio.MaxRegexBytes {
				t.Errorf("%s: regex of %d bytes", name, len(re))
			}
			parsed, err := syntax.Parse(re, syntax.Perl)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := syntax.Compile(parsed.Simplify())
			if err != nil {
				t.Fatal(err)
			}
			if len(prog.Inst) > 32768/4 {
				t.Errorf("%s: RE2 program of %d instructions, too close to Envoy's 32768", name, len(prog.Inst))
			}
		}
	}
	for _, tc := range []struct {
		h    traffictest.Headers
		want int
	}{
		{traffictest.H("X-Org-Branch", "B0000", "X-Org-Region", "north"), 100},
		{traffictest.H("X-Org-Branch", "B1234", "X-Org-Region", "south"), 100},
		{traffictest.H("X-Org-Branch", "B1999", "X-Org-Region", "north"), 100},
		{traffictest.H("X-Org-Branch", "B2000", "X-Org-Region", "north"), 0},
		{traffictest.H("X-Org-Branch", "B1999", "X-Org-Region", "east"), 0},
		{traffictest.H("X-Org-Branch", "B1999"), 0},
	} {
		req := traffictest.Request{Path: "/", Headers: tc.h}
		want, _ := traffictest.Case{Route: r, Request: req}.GrayShare()
		got, _, err := evaluate(vs, dr, r, req)
		if err != nil || got != tc.want || want != tc.want {
			t.Errorf("%v: Istio %d%% (%v), Decide %d%%, want %d%%", tc.h, got, err, want, tc.want)
		}
	}
}

func TestRenderPutsTheSubsetBeforeTheRoutesThatUseIt(t *testing.T) {
	t.Parallel()
	withGray := mustRender(t, traffictest.Route(traffic.Rules{Weight: 10}))
	noGray := traffictest.Route(traffic.Rules{Weight: 10})
	noGray.Gray = nil
	without := mustRender(t, noGray)
	if got := kinds(withGray); got != "DestinationRule VirtualService" {
		t.Errorf("with a gray version: %s", got)
	}
	if got := kinds(without); got != "VirtualService DestinationRule" {
		t.Errorf("without a gray version: %s", got)
	}
}

func kinds(objs []*unstructured.Unstructured) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind())
	}
	return strings.Join(out, " ")
}

func TestRenderRefusesInvalidRoutes(t *testing.T) {
	t.Parallel()
	r := traffictest.Route(traffic.Rules{Weight: 101, Match: []traffic.Clause{{}}})
	r.Name = "Red_Auth"
	r.Port = 0
	r.Gray.Version = "v1"
	r.PathPrefix = "api"
	r.Hosts = []string{"auth.bank.example", "bad host"}
	_, err := istio.Render(r)
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Render = %v, want a validation error", err)
	}
	var paths []string
	for _, f := range ve.Fields {
		paths = append(paths, f.Path)
	}
	want := []string{"name", "port", "gray.version", "pathPrefix", "hosts[1]", "rules.weight", "rules.match[0].headers"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("error paths (-want +got):\n%s\n%v", diff, err)
	}
}

// TestRenderGolden pins the objects of representative routes; the
// cluster test in internal/kube applies every golden file to a real API
// server with the Istio CRDs. Regenerate with -update.
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
	objs, err := istio.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// decode reads the rendered objects back into the upstream types, through
// JSON as the API server would.
func decode(t *testing.T, objs []*unstructured.Unstructured) (*clientnet.VirtualService, *clientnet.DestinationRule) {
	t.Helper()
	var vs *clientnet.VirtualService
	var dr *clientnet.DestinationRule
	for _, o := range objs {
		b, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		switch o.GetKind() {
		case "VirtualService":
			vs = &clientnet.VirtualService{}
			err = json.Unmarshal(b, vs)
		case "DestinationRule":
			dr = &clientnet.DestinationRule{}
			err = json.Unmarshal(b, dr)
		default:
			err = fmt.Errorf("unexpected kind %s", o.GetKind())
		}
		if err != nil {
			t.Fatalf("decode %s: %v\n%s", o.GetKind(), err, b)
		}
	}
	if vs == nil || dr == nil {
		t.Fatalf("Render returned %s, want a VirtualService and a DestinationRule", kinds(objs))
	}
	return vs, dr
}

// evaluate routes req by vs and dr as Istio specifies (docs for
// VirtualService and DestinationRule, Envoy's route matching): the first
// HTTP route with a match block whose every condition holds (or with no
// block) is taken; its destinations share traffic by weight. It returns
// the percentage that reaches the pods of r's gray version and whether
// any route took the request.
func evaluate(vs *clientnet.VirtualService, dr *clientnet.DestinationRule, r traffic.Route, req traffictest.Request) (int, bool, error) {
	if !slices.Contains(vs.Spec.Hosts, r.Service) || dr.Spec.Host != r.Service {
		return 0, false, fmt.Errorf("hosts %v / %s do not serve %s", vs.Spec.Hosts, dr.Spec.Host, r.Service)
	}
	for _, route := range vs.Spec.Http {
		if !routeMatches(route.Match, req) {
			continue
		}
		return share(route.Route, dr, r)
	}
	return 0, false, nil
}

func routeMatches(blocks []*apinet.HTTPMatchRequest, req traffictest.Request) bool {
	if len(blocks) == 0 {
		return true
	}
	for _, b := range blocks {
		if blockHolds(b, req) {
			return true
		}
	}
	return false
}

func blockHolds(b *apinet.HTTPMatchRequest, req traffictest.Request) bool {
	if b.Uri != nil && !stringMatch(b.Uri, req.Path, true) {
		return false
	}
	for name, m := range b.Headers {
		// Envoy compares header names case-insensitively and matches a
		// repeated header against its values joined with ",".
		vs := req.Headers.Values(name)
		if !stringMatch(m, strings.Join(vs, ","), len(vs) > 0) {
			return false
		}
	}
	return true
}

// stringMatch applies an Istio StringMatch; regex is RE2 matched against
// the whole value.
func stringMatch(m *apinet.StringMatch, v string, present bool) bool {
	if !present {
		return false
	}
	switch {
	case m.GetRegex() != "":
		re, err := regexp.Compile(`^(?:` + m.GetRegex() + `)$`)
		return err == nil && re.MatchString(v)
	case m.GetPrefix() != "":
		return strings.HasPrefix(v, m.GetPrefix())
	}
	return v == m.GetExact()
}

// share is the percentage of the route's traffic that reaches gray pods.
func share(dests []*apinet.HTTPRouteDestination, dr *clientnet.DestinationRule, r traffic.Route) (int, bool, error) {
	total, gray := int32(0), int32(0)
	for _, d := range dests {
		w := d.Weight
		if len(dests) == 1 && w == 0 {
			w = 100
		}
		if d.Destination.Host != r.Service || d.Destination.Port.GetNumber() != uint32(r.Port) {
			return 0, false, fmt.Errorf("destination %v is not %s:%d", d.Destination, r.Service, r.Port)
		}
		version, err := subsetVersion(dr, d.Destination.Subset)
		if err != nil {
			return 0, false, err
		}
		switch {
		case r.Gray != nil && version == r.Gray.Version:
			gray += w
		case version != r.Stable.Version:
			return 0, false, fmt.Errorf("subset %s selects version %q, neither stable nor gray", d.Destination.Subset, version)
		}
		total += w
	}
	if total == 0 || gray*100%total != 0 {
		return 0, false, fmt.Errorf("weights %d of %d are not a whole percentage", gray, total)
	}
	return int(gray * 100 / total), true, nil
}

func subsetVersion(dr *clientnet.DestinationRule, name string) (string, error) {
	for _, s := range dr.Spec.Subsets {
		if s.Name == name {
			if len(s.Labels) != 1 || s.Labels[istio.VersionLabel] == "" {
				return "", fmt.Errorf("subset %s selects %v, want the version label alone", name, s.Labels)
			}
			return s.Labels[istio.VersionLabel], nil
		}
	}
	return "", fmt.Errorf("no subset %q", name)
}
