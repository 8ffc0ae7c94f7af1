// Package gatewayapi realises a traffic.Route as a Gateway API HTTPRoute
// (gateway.networking.k8s.io/v1): header matches that send the requests
// matching any clause to the gray version's Service, and a default rule
// whose weighted backendRefs split the rest between the stable and gray
// Services.
//
// Objects are built with the upstream Go types (sigs.k8s.io/gateway-api)
// and returned as unstructured objects for server-side apply.
// docs/traffic-rules.md ("Gateway API") states the mapping.
package gatewayapi

import (
	"fmt"
	"maps"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/translate"
)

// Limits of the HTTPRoute CRD (gateway-api v1.3 to v1.6: unchanged).
const (
	// MaxMatchesPerRule is the most matches one rule holds.
	MaxMatchesPerRule = 64
	// MaxMatches is the most matches all rules of a route hold together.
	MaxMatches = 128
	// MaxRules is the most rules a route holds.
	MaxRules = 16
	// MaxHeadersPerMatch is the most header conditions one match holds.
	MaxHeadersPerMatch = 16

	maxHeaderName  = 256
	maxHeaderValue = 4096
)

// Render returns the HTTPRoute that realises r, named r.Name in
// r.Namespace, labelled with r.Labels, attached to r.Gateway. A clause with
// set membership becomes one match per combination of its values (Gateway
// API matches header values exactly); a route whose clauses need more
// matches than an HTTPRoute holds, or a clause on more headers than a match
// holds, is refused with a *resource.ValidationError naming the field,
// like every other invalid field. Render keeps nothing of r.
func Render(r traffic.Route) ([]*unstructured.Unstructured, error) {
	if err := translate.Validate(r, true); err != nil {
		return nil, err
	}
	p := translate.PlanOf(r)
	matches, err := grayMatches(r, p)
	if err != nil {
		return nil, err
	}
	route := httpRoute(r, p, matches)
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(route)
	if err != nil {
		return nil, fmt.Errorf("http route: %w", err)
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	return []*unstructured.Unstructured{{Object: m}}, nil
}

func httpRoute(r traffic.Route, p translate.Plan, matches []gwv1.HTTPRouteMatch) *gwv1.HTTPRoute {
	var rules []gwv1.HTTPRouteRule
	for start := 0; start < len(matches); start += MaxMatchesPerRule {
		end := min(start+MaxMatchesPerRule, len(matches))
		rules = append(rules, gwv1.HTTPRouteRule{
			Matches:     matches[start:end],
			BackendRefs: []gwv1.HTTPBackendRef{backend(r, r.Gray.Service, nil)},
		})
	}
	rules = append(rules, gwv1.HTTPRouteRule{
		Matches:     []gwv1.HTTPRouteMatch{{Path: pathMatch(r)}},
		BackendRefs: split(r, p),
	})
	hosts := make([]gwv1.Hostname, len(r.Hosts))
	for i, h := range r.Hosts {
		hosts[i] = gwv1.Hostname(h)
	}
	return &gwv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "HTTPRoute"},
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace, Labels: maps.Clone(r.Labels)},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{parent(r)}},
			Hostnames:       hosts,
			Rules:           rules,
		},
	}
}

func parent(r traffic.Route) gwv1.ParentReference {
	ns, name := translate.GatewayRef(r)
	ref := gwv1.ParentReference{Name: gwv1.ObjectName(name)}
	if ns != "" {
		ref.Namespace = ptr.To(gwv1.Namespace(ns))
	}
	return ref
}

// split is the backends of the requests that matched no clause.
func split(r traffic.Route, p translate.Plan) []gwv1.HTTPBackendRef {
	switch {
	case p.Fixed && p.All == traffic.Gray:
		return []gwv1.HTTPBackendRef{backend(r, r.Gray.Service, nil)}
	case p.Fixed || p.Weight == 0:
		return []gwv1.HTTPBackendRef{backend(r, r.Stable.Service, nil)}
	}
	return []gwv1.HTTPBackendRef{
		backend(r, r.Stable.Service, ptr.To(int32(100-p.Weight))),
		backend(r, r.Gray.Service, ptr.To(int32(p.Weight))),
	}
}

func backend(r traffic.Route, service string, weight *int32) gwv1.HTTPBackendRef {
	return gwv1.HTTPBackendRef{BackendRef: gwv1.BackendRef{
		BackendObjectReference: gwv1.BackendObjectReference{
			Name: gwv1.ObjectName(service),
			Port: ptr.To(gwv1.PortNumber(r.Port)),
		},
		Weight: weight,
	}}
}

// pathMatch is Gateway API's PathPrefix, which matches whole path
// segments as traffic.Route does.
func pathMatch(r traffic.Route) *gwv1.HTTPPathMatch {
	return &gwv1.HTTPPathMatch{Type: ptr.To(gwv1.PathMatchPathPrefix), Value: ptr.To(translate.PathPrefix(r))}
}

// grayMatches expands every clause into one match per combination of its
// conditions' values. Each match carries the route's path and at least one
// header, so by Gateway API precedence (more header matches win over the
// same path) it wins over the default rule.
func grayMatches(r traffic.Route, p translate.Plan) ([]gwv1.HTTPRouteMatch, error) {
	if p.Fixed {
		return nil, nil
	}
	var errs resource.Errors
	total := 0
	for _, c := range p.Clauses {
		if len(c.Conds) > MaxHeadersPerMatch {
			errs.Add(fmt.Sprintf("rules.match[%d].headers", c.Index),
				"a clause on %d distinct headers; a Gateway API match holds at most %d", len(c.Conds), MaxHeadersPerMatch)
		}
		checkLengths(&errs, c)
		total += combinations(c, MaxMatches)
	}
	if room := MaxMatches - 1; total > room {
		errs.Add("rules.match", "the clauses expand to %s Gateway API matches (one per combination of a clause's values); "+
			"an HTTPRoute holds %d beside its default rule: list fewer values or use the Istio or Berth gateway provider",
			atLeast(total, MaxMatches), room)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var out []gwv1.HTTPRouteMatch
	for _, c := range p.Clauses {
		out = expand(r, c, out)
	}
	return out, nil
}

// checkLengths applies the CRD's length limits on header names and values.
func checkLengths(errs *resource.Errors, c translate.Clause) {
	for _, cond := range c.Conds {
		if len(cond.Header) > maxHeaderName {
			errs.Add(fmt.Sprintf("rules.match[%d].headers", c.Index), "header name %.20q... is longer than Gateway API's %d characters", cond.Header, maxHeaderName)
		}
		for _, v := range cond.Values {
			if len(v) > maxHeaderValue {
				errs.Add(fmt.Sprintf("rules.match[%d].headers", c.Index), "a value of %s is longer than Gateway API's %d characters", cond.Header, maxHeaderValue)
			}
		}
	}
}

// combinations is the number of matches clause c expands to, capped at
// limit so that huge products cannot overflow.
func combinations(c translate.Clause, limit int) int {
	n := 1
	for _, cond := range c.Conds {
		n *= len(cond.Values)
		if n > limit {
			return limit + 1
		}
	}
	return n
}

func atLeast(n, limit int) string {
	if n > limit {
		return fmt.Sprintf("more than %d", limit)
	}
	return fmt.Sprint(n)
}

// expand appends to out one match per combination of c's values, in
// order (the first condition's values vary slowest).
func expand(r traffic.Route, c translate.Clause, out []gwv1.HTTPRouteMatch) []gwv1.HTTPRouteMatch {
	idx := make([]int, len(c.Conds))
	for {
		m := gwv1.HTTPRouteMatch{Path: pathMatch(r)}
		for i, cond := range c.Conds {
			m.Headers = append(m.Headers, gwv1.HTTPHeaderMatch{
				Type:  ptr.To(gwv1.HeaderMatchExact),
				Name:  gwv1.HTTPHeaderName(cond.Header),
				Value: cond.Values[idx[i]],
			})
		}
		out = append(out, m)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(c.Conds[i].Values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out
		}
	}
}
