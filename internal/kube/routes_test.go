package kube_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/gatewayapi"
	"berth.dev/berth/internal/traffic/istio"
	"berth.dev/berth/internal/traffic/traffictest"
)

var (
	virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	destRules       = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}
	httpRoutes      = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
)

var crdsOnce sync.Mutex

// routeCluster returns the shared cluster with the Istio and Gateway API
// CRDs installed from the files their Go modules ship.
func routeCluster(t *testing.T) (*clustertest.Cluster, dynamic.Interface) {
	t.Helper()
	c := clustertest.Start(t)
	crdsOnce.Lock()
	defer crdsOnce.Unlock()
	c.InstallCRDs(t,
		clustertest.ModuleFile(t, "istio.io/api", "kubernetes/customresourcedefinitions.gen.yaml"),
		clustertest.ModuleFile(t, "sigs.k8s.io/gateway-api", "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml"),
	)
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c, dyn
}

// TestEveryGoldenRouteIsAcceptedByTheAPIServer applies the golden files of
// both providers: the CRDs' OpenAPI schemas and CEL rules validate them.
func TestEveryGoldenRouteIsAcceptedByTheAPIServer(t *testing.T) {
	t.Parallel()
	c, _ := routeCluster(t)
	a := applier(t, c)
	files, err := filepath.Glob("../traffic/*/testdata/*.golden.yaml")
	if err != nil || len(files) < 10 {
		t.Fatalf("golden files: %v (%d found, want both providers' files)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(f)))+"/"+filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			objs := readGolden(t, f, ns)
			inv, err := a.ApplyOwned(t.Context(), objs, nil)
			if err != nil {
				t.Fatalf("the API server refused %s: %v", f, err)
			}
			if len(inv) != len(objs) {
				t.Errorf("inventory %v, want %d objects", inv, len(objs))
			}
			for _, o := range objs {
				live, err := a.Get(t.Context(), kube.RefOf(o))
				if err != nil {
					t.Fatal(err)
				}
				if got := live.GetLabels()[kube.LabelManagedBy]; got != kube.ManagedBy {
					t.Errorf("%s: managed-by %q", kube.RefOf(o), got)
				}
				// A CRD prunes fields it does not know without an error:
				// every field written must read back (defaults may be added).
				if path := missing(o.Object["spec"], live.Object["spec"], "spec"); path != "" {
					t.Errorf("%s: the API server did not keep %s", kube.RefOf(o), path)
				}
			}
		})
	}
}

// missing returns the path of the first field of want that got lacks or
// holds with another value, "" when got contains all of want.
func missing(want, got any, path string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path
		}
		for k, v := range w {
			if p := missing(v, g[k], path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path
		}
		for i := range w {
			if p := missing(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	default:
		if fmt.Sprint(number(want)) != fmt.Sprint(number(got)) {
			return fmt.Sprintf("%s (%v, read back %v)", path, want, got)
		}
	}
	return ""
}

// number makes YAML's float64 and the API server's int64 comparable.
func number(v any) any {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return v
}

func readGolden(t *testing.T, path, ns string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := traffictest.UnmarshalObjects(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.SetNamespace(ns)
	}
	return objs
}

// TestTheCRDsValidateRouteObjects shows that the validation above is real:
// objects the CRDs forbid are refused.
func TestTheCRDsValidateRouteObjects(t *testing.T) {
	t.Parallel()
	c, _ := routeCluster(t)
	a := applier(t, c)
	ns := c.Namespace(t)
	route := readGolden(t, "../traffic/gatewayapi/testdata/pilot-weighted.golden.yaml", ns)[0]
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	gray := rules[0].(map[string]any)
	matches := gray["matches"].([]any)
	for len(matches) <= gatewayapi.MaxMatchesPerRule {
		matches = append(matches, matches[0])
	}
	gray["matches"] = matches
	if err := unstructured.SetNestedSlice(route.Object, rules, "spec", "rules"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyOwned(t.Context(), []*unstructured.Unstructured{route}, nil); !apierrors.IsInvalid(err) {
		t.Errorf("an HTTPRoute rule of %d matches: err = %v, want invalid", len(matches), err)
	}
	vs := readGolden(t, "../traffic/istio/testdata/weight-only.golden.yaml", ns)[1]
	http := list(t, vs, "spec", "http")
	http[0].(map[string]any)["route"] = "heavy"
	if _, err := a.ApplyOwned(t.Context(), []*unstructured.Unstructured{vs}, nil); err == nil {
		t.Errorf("a VirtualService whose route is a string was accepted")
	}
}

// TestTheLargestRoutesFit applies the largest routes the providers
// render: an HTTPRoute at the CRD's limit of matches, and a VirtualService
// whose value set is split over several match blocks.
func TestTheLargestRoutesFit(t *testing.T) {
	t.Parallel()
	c, dyn := routeCluster(t)
	a := applier(t, c)
	ns := c.Namespace(t)
	branches := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("B%04d", i))
		}
		return out
	}
	route := func(values []string) traffic.Route {
		r := traffictest.Route(traffic.Rules{Weight: 5, Match: []traffic.Clause{traffictest.Clause(traffictest.Cond("X-Org-Branch", values...))}})
		r.Namespace = ns
		return r
	}
	gw, err := gatewayapi.Render(route(branches(gatewayapi.MaxMatches - 1)))
	if err != nil {
		t.Fatal(err)
	}
	is, err := istio.Render(route(branches(5000)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyOwned(t.Context(), append(gw, is...), nil); err != nil {
		t.Fatalf("the API server refused the largest routes: %v", err)
	}
	if n := count(t, get(t, dyn, virtualServices, ns), "spec", "http", "0", "match"); n < 2 {
		t.Errorf("%d match blocks for 5,000 branches, want the set split", n)
	}
	if _, err := gatewayapi.Render(route(branches(gatewayapi.MaxMatches))); err == nil {
		t.Error("one more branch than an HTTPRoute holds was rendered")
	}
	// The limit is the CRD's: one match more and the API server refuses.
	rules := list(t, gw[0], "spec", "rules")
	second := rules[1].(map[string]any)
	matches := second["matches"].([]any)
	second["matches"] = append(matches, matches[0])
	_, err = a.ApplyOwned(t.Context(), gw, nil)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "total number of matches") {
		t.Errorf("an HTTPRoute of %d matches: err = %v, want invalid", gatewayapi.MaxMatches+1, err)
	}
}

// TestApplyOwnedRefusesAUsersVirtualService: Berth's route for red-auth
// collides with a VirtualService of the same name that a user wrote.
func TestApplyOwnedRefusesAUsersVirtualService(t *testing.T) {
	t.Parallel()
	c, dyn := routeCluster(t)
	a := applier(t, c)
	ns := c.Namespace(t)
	user := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"name": "red-auth", "namespace": ns, "labels": map[string]any{kube.LabelManagedBy: "helm"}},
		"spec":     map[string]any{"hosts": []any{"red-auth"}, "http": []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "legacy"}}}}}},
	}}
	before, err := dyn.Resource(virtualServices).Namespace(ns).Create(t.Context(), user, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := traffictest.Route(traffic.Rules{Match: traffictest.Pilot()})
	r.Namespace = ns
	objs, err := istio.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.ApplyOwned(t.Context(), objs, nil)
	var noe *kube.NotOwnedError
	if !errors.As(err, &noe) || !errors.Is(err, kube.ErrNotOwned) {
		t.Fatalf("ApplyOwned = %v, want a NotOwnedError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "VirtualService "+ns+"/red-auth") || !strings.Contains(msg, `"helm"`) {
		t.Errorf("error %q does not name the object and its manager", msg)
	}
	after, err := dyn.Resource(virtualServices).Namespace(ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.GetResourceVersion() != before.GetResourceVersion() {
		t.Errorf("the user's VirtualService was changed: %v", after.Object["spec"])
	}
	if _, err := dyn.Resource(destRules).Namespace(ns).Get(t.Context(), "red-auth", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the DestinationRule was written although the route was refused: %v", err)
	}
}

// TestRoutesWidenShrinkAndGo follows a plan through one provider each:
// widening a rule changes the live objects, dropping the gray version
// removes its subset, and an empty apply removes every route object — but
// never one a user took over meanwhile.
func TestRoutesWidenShrinkAndGo(t *testing.T) {
	t.Parallel()
	c, dyn := routeCluster(t)
	a := applier(t, c)
	ns := c.Namespace(t)
	render := func(rules traffic.Rules, gray bool) []*unstructured.Unstructured {
		r := traffictest.Route(rules)
		r.Namespace = ns
		if !gray {
			r.Gray = nil
		}
		is, err := istio.Render(r)
		if err != nil {
			t.Fatal(err)
		}
		gw, err := gatewayapi.Render(r)
		if err != nil {
			t.Fatal(err)
		}
		return append(is, gw...)
	}
	pilot := traffic.Rules{Match: traffictest.Pilot()[1:]}
	inv, err := a.ApplyOwned(t.Context(), render(pilot, true), nil)
	if err != nil {
		t.Fatal(err)
	}
	widened := traffic.Rules{Match: traffictest.Pilot(), Weight: 20}
	if inv, err = a.ApplyOwned(t.Context(), render(widened, true), inv); err != nil {
		t.Fatal(err)
	}
	vs := get(t, dyn, virtualServices, ns)
	if got := names(t, vs, "spec", "http", "0", "match"); !slices.Equal(got, []string{"match-0", "match-1"}) {
		t.Errorf("widened VirtualService matches %v, want both clauses", got)
	}
	route := get(t, dyn, httpRoutes, ns)
	if n := count(t, route, "spec", "rules", "0", "matches"); n != 3 {
		t.Errorf("widened HTTPRoute has %d gray matches, want 3 (north/0101, north/0102, T900)", n)
	}

	if inv, err = a.ApplyOwned(t.Context(), render(widened, false), inv); err != nil {
		t.Fatal(err)
	}
	dr := get(t, dyn, destRules, ns)
	if got := names(t, dr, "spec", "subsets"); !slices.Equal(got, []string{istio.SubsetStable}) {
		t.Errorf("subsets without a gray version: %v", got)
	}
	if n := count(t, get(t, dyn, httpRoutes, ns), "spec", "rules"); n != 1 {
		t.Errorf("HTTPRoute without a gray version has %d rules, want the default alone", n)
	}

	// A user takes the DestinationRule over; removal leaves it alone.
	dr.SetLabels(map[string]string{kube.LabelManagedBy: "someone"})
	if _, err := dyn.Resource(destRules).Namespace(ns).Update(t.Context(), dr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if inv, err = a.ApplyOwned(t.Context(), nil, inv); err != nil || len(inv) != 0 {
		t.Fatalf("remove: inventory %v, err %v", inv, err)
	}
	for _, gvr := range []schema.GroupVersionResource{virtualServices, httpRoutes} {
		if _, err := dyn.Resource(gvr).Namespace(ns).Get(t.Context(), "red-auth", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s still there after removal: %v", gvr.Resource, err)
		}
	}
	get(t, dyn, destRules, ns)
}

func get(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, ns string) *unstructured.Unstructured {
	t.Helper()
	o, err := dyn.Resource(gvr).Namespace(ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s red-auth: %v", gvr.Resource, err)
	}
	return o
}

// list returns the list at path, where a numeric element indexes a list.
func list(t *testing.T, o *unstructured.Unstructured, path ...string) []any {
	t.Helper()
	var cur any = o.Object
	for _, p := range path {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			i := int(p[0] - '0')
			if len(p) != 1 || i >= len(v) {
				t.Fatalf("%v: no element %s", path, p)
			}
			cur = v[i]
		}
	}
	l, ok := cur.([]any)
	if !ok {
		t.Fatalf("%v is %T, not a list", path, cur)
	}
	return l
}

func count(t *testing.T, o *unstructured.Unstructured, path ...string) int {
	t.Helper()
	return len(list(t, o, path...))
}

func names(t *testing.T, o *unstructured.Unstructured, path ...string) []string {
	t.Helper()
	var out []string
	for _, e := range list(t, o, path...) {
		m, _ := e.(map[string]any)
		s, _ := m["name"].(string)
		out = append(out, s)
	}
	return out
}
