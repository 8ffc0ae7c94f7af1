// Package istio realises a traffic.Route on an Istio service mesh: a
// DestinationRule with the subsets "stable" and "gray" (pods selected by
// the version label) and a VirtualService whose HTTP routes send the
// requests matching any clause to gray and split the rest by weight.
//
// Objects are built with the upstream Go types (istio.io/client-go,
// networking.istio.io/v1) and returned as unstructured objects for
// server-side apply. docs/traffic-rules.md ("Istio") states the mapping.
package istio

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strings"

	apinet "istio.io/api/networking/v1"
	clientnet "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/translate"
)

// VersionLabel is the pod label whose value names the version; the
// subsets select pods by it.
const VersionLabel = "app.kubernetes.io/version"

// Subset names in the DestinationRule.
const (
	SubsetStable = "stable"
	SubsetGray   = "gray"
)

// Route names in the VirtualService.
const (
	routeGray    = "gray-match"
	routeDefault = "default"
)

// Render returns the DestinationRule and VirtualService that realise r,
// both named r.Name in r.Namespace and labelled with r.Labels. When r has
// a gray version the DestinationRule comes first (its subset exists before
// a route uses it), otherwise the VirtualService does (no route uses the
// gray subset any more when it goes). Invalid routes get a
// *resource.ValidationError naming every bad field. Render keeps nothing
// of r.
func Render(r traffic.Route) ([]*unstructured.Unstructured, error) {
	if err := translate.Validate(r, false); err != nil {
		return nil, err
	}
	dr, err := toUnstructured(destinationRule(r))
	if err != nil {
		return nil, fmt.Errorf("destination rule: %w", err)
	}
	vs, err := toUnstructured(virtualService(r, translate.PlanOf(r)))
	if err != nil {
		return nil, fmt.Errorf("virtual service: %w", err)
	}
	if r.Gray == nil {
		return []*unstructured.Unstructured{vs, dr}, nil
	}
	return []*unstructured.Unstructured{dr, vs}, nil
}

func objectMeta(r traffic.Route) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace, Labels: maps.Clone(r.Labels)}
}

func destinationRule(r traffic.Route) *clientnet.DestinationRule {
	dr := &clientnet.DestinationRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: clientnet.SchemeGroupVersion.String(), Kind: "DestinationRule"},
		ObjectMeta: objectMeta(r),
	}
	dr.Spec.Host = r.Service
	dr.Spec.Subsets = []*apinet.Subset{{Name: SubsetStable, Labels: map[string]string{VersionLabel: r.Stable.Version}}}
	if r.Gray != nil {
		dr.Spec.Subsets = append(dr.Spec.Subsets, &apinet.Subset{Name: SubsetGray, Labels: map[string]string{VersionLabel: r.Gray.Version}})
	}
	return dr
}

func virtualService(r traffic.Route, p translate.Plan) *clientnet.VirtualService {
	vs := &clientnet.VirtualService{
		TypeMeta:   metav1.TypeMeta{APIVersion: clientnet.SchemeGroupVersion.String(), Kind: "VirtualService"},
		ObjectMeta: objectMeta(r),
	}
	spec := &vs.Spec
	spec.Hosts = append([]string{r.Service}, r.Hosts...)
	if r.Gateway != "" {
		spec.Gateways = []string{r.Gateway, "mesh"}
	}
	path := pathMatch(translate.PathPrefix(r))
	if !p.Fixed && len(p.Clauses) > 0 {
		matches := make([]*apinet.HTTPMatchRequest, 0, len(p.Clauses))
		for _, c := range p.Clauses {
			matches = append(matches, clauseMatches(c, path)...)
		}
		spec.Http = append(spec.Http, &apinet.HTTPRoute{
			Name: routeGray, Match: matches, Route: []*apinet.HTTPRouteDestination{destination(r, SubsetGray, 0)},
		})
	}
	def := &apinet.HTTPRoute{Name: routeDefault, Route: split(r, p)}
	if path != nil {
		def.Match = []*apinet.HTTPMatchRequest{{Name: "path", Uri: path}}
	}
	spec.Http = append(spec.Http, def)
	return vs
}

// split is the destinations of the requests that matched no clause.
func split(r traffic.Route, p translate.Plan) []*apinet.HTTPRouteDestination {
	switch {
	case p.Fixed && p.All == traffic.Gray:
		return []*apinet.HTTPRouteDestination{destination(r, SubsetGray, 0)}
	case p.Fixed || p.Weight == 0:
		return []*apinet.HTTPRouteDestination{destination(r, SubsetStable, 0)}
	}
	return []*apinet.HTTPRouteDestination{
		destination(r, SubsetStable, int32(100-p.Weight)),
		destination(r, SubsetGray, int32(p.Weight)),
	}
}

func destination(r traffic.Route, subset string, weight int32) *apinet.HTTPRouteDestination {
	return &apinet.HTTPRouteDestination{
		Destination: &apinet.Destination{Host: r.Service, Subset: subset, Port: &apinet.PortSelector{Number: uint32(r.Port)}},
		Weight:      weight,
	}
}

// pathMatch matches whole path segments under prefix: "/api" matches
// "/api" and "/api/x" but not "/apix" (Istio's prefix match alone would).
// It is nil for "/", which every path is under.
func pathMatch(prefix string) *apinet.StringMatch {
	switch {
	case prefix == "/":
		return nil
	case strings.HasSuffix(prefix, "/"):
		return &apinet.StringMatch{MatchType: &apinet.StringMatch_Prefix{Prefix: prefix}}
	}
	return &apinet.StringMatch{MatchType: &apinet.StringMatch_Regex{Regex: "^" + regexp.QuoteMeta(prefix) + "(/.*)?$"}}
}

// MaxRegexBytes bounds the regular expression of one header match. Envoy,
// as Istio configures it, refuses a regex whose RE2 program exceeds 32768
// instructions, about one per byte plus a few per alternative; a set whose
// alternation would be longer is split over several match blocks.
const MaxRegexBytes = 2048

// clauseMatches returns the match blocks of one clause: Istio ANDs the
// conditions of a block and ORs the blocks of a route. A clause is one
// block unless a value set is split into chunks (see MaxRegexBytes); it is
// then one block per combination of chunks, which is the same condition:
// (A in S1 ∪ S2) and B = (A in S1 and B) or (A in S2 and B).
func clauseMatches(c translate.Clause, path *apinet.StringMatch) []*apinet.HTTPMatchRequest {
	blocks := []map[string]*apinet.StringMatch{{}}
	for _, cond := range c.Conds {
		name := strings.ToLower(cond.Header)
		var next []map[string]*apinet.StringMatch
		for _, chunk := range chunks(cond.Values) {
			for _, b := range blocks {
				h := maps.Clone(b)
				h[name] = valueMatch(chunk)
				next = append(next, h)
			}
		}
		blocks = next
	}
	out := make([]*apinet.HTTPMatchRequest, len(blocks))
	for i, h := range blocks {
		out[i] = &apinet.HTTPMatchRequest{Name: fmt.Sprintf("match-%d", c.Index), Uri: path, Headers: h}
	}
	return out
}

// chunks splits values into runs whose alternation stays within
// MaxRegexBytes; a value longer than that is a run of its own (an exact
// match).
func chunks(values []string) [][]string {
	var out [][]string
	var cur []string
	size := 0
	for _, v := range values {
		n := len(regexp.QuoteMeta(v)) + 1
		if len(cur) > 0 && size+n > MaxRegexBytes-len("^()$") {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, v)
		size += n
	}
	return append(out, cur)
}

// valueMatch is an exact match for one value and, for a set, an anchored
// regular expression alternating the values with every metacharacter
// escaped. Envoy matches header regexes against the whole value; the
// anchors keep it exact under a partial-match reading too.
func valueMatch(values []string) *apinet.StringMatch {
	if len(values) == 1 {
		return &apinet.StringMatch{MatchType: &apinet.StringMatch_Exact{Exact: values[0]}}
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return &apinet.StringMatch{MatchType: &apinet.StringMatch_Regex{Regex: "^(" + strings.Join(quoted, "|") + ")$"}}
}

// toUnstructured converts through JSON: the Istio spec types are protobuf
// messages whose MarshalJSON writes the CRD's form (oneofs included).
func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	meta, _ := m["metadata"].(map[string]any)
	delete(meta, "creationTimestamp")
	return &unstructured.Unstructured{Object: m}, nil
}
