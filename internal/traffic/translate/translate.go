// Package translate prepares a traffic.Route for the providers that render
// it into mesh objects (Istio, Gateway API): it validates the Route's
// fields and reduces its rules to a Plan, the shape every provider
// renders — everything to one side, or gray-sending clauses in a
// normalised form plus a weight for the rest.
package translate

import (
	"maps"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
)

// Plan is a Route's rules reduced to what a provider renders.
type Plan struct {
	// Fixed is set when every request goes to All, whatever its headers:
	// no gray version, blue-green, weight 100, or no clause and weight 0.
	Fixed bool
	All   traffic.Side
	// Clauses send a request to gray when any of them holds (Fixed unset).
	Clauses []Clause
	// Weight is the percentage (1-99) of the other requests that go to
	// gray; 0 when only clauses send traffic to gray.
	Weight int
}

// Clause is one rule clause with its conditions merged per header: an AND
// of conditions on distinct headers.
type Clause struct {
	// Index is the clause's position in Rules.Match, for error paths.
	Index int
	// Conds has one condition per header, in order of first use.
	Conds []Cond
}

// Cond holds when the header has one of Values.
type Cond struct {
	// Header is the canonical header name (textproto form).
	Header string
	// Values has no duplicates, in the order first given.
	Values []string
}

// PlanOf reduces r's rules. r must be valid (see Validate). Conditions of
// one clause on the same header (names compared case-insensitively) are
// merged into their intersection; a clause whose intersection is empty can
// never hold and is dropped. PlanOf does not keep r's slices.
func PlanOf(r traffic.Route) Plan {
	rules := r.Rules
	switch {
	case r.Gray == nil || rules.BlueGreen == "stable":
		return Plan{Fixed: true, All: traffic.Stable}
	case rules.BlueGreen == "gray" || rules.Weight >= 100:
		return Plan{Fixed: true, All: traffic.Gray}
	}
	p := Plan{Weight: max(rules.Weight, 0)}
	for i, c := range rules.Match {
		if conds, ok := merge(c.Headers); ok {
			p.Clauses = append(p.Clauses, Clause{Index: i, Conds: conds})
		}
	}
	if len(p.Clauses) == 0 && p.Weight == 0 {
		return Plan{Fixed: true, All: traffic.Stable}
	}
	return p
}

// merge intersects the conditions of one clause per header. It reports
// false when the clause can never hold.
func merge(in []traffic.Condition) ([]Cond, bool) {
	var out []Cond
	at := map[string]int{}
	for _, c := range in {
		h := textproto.CanonicalMIMEHeaderKey(c.Header)
		i, seen := at[h]
		if !seen {
			at[h] = len(out)
			out = append(out, Cond{Header: h, Values: dedupe(c.Values)})
			continue
		}
		out[i].Values = intersect(out[i].Values, c.Values)
		if len(out[i].Values) == 0 {
			return nil, false
		}
	}
	return out, len(out) > 0
}

func dedupe(vs []string) []string {
	out := make([]string, 0, len(vs))
	seen := map[string]bool{}
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, v := range b {
		in[v] = true
	}
	var out []string
	for _, v := range a {
		if in[v] {
			out = append(out, v)
		}
	}
	return out
}

// PathPrefix returns r's path prefix, "/" when empty.
func PathPrefix(r traffic.Route) string {
	if r.PathPrefix == "" {
		return "/"
	}
	return r.PathPrefix
}

// GatewayRef splits r.Gateway into namespace and name; the namespace is
// "" when r.Gateway does not name one.
func GatewayRef(r traffic.Route) (namespace, name string) {
	if ns, n, ok := strings.Cut(r.Gateway, "/"); ok {
		return ns, n
	}
	return "", r.Gateway
}

// pathChars are the characters Gateway API allows in a path match; Istio
// accepts them too.
var pathChars = regexp.MustCompile(`^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$`)

// Validate returns a *resource.ValidationError naming every invalid field
// of r by its JSON path (e.g. "gray.version", "rules.match[0].headers"), or
// nil. needGateway makes an empty Gateway an error.
func Validate(r traffic.Route, needGateway bool) error {
	var errs resource.Errors
	checkObjectName(&errs, "name", r.Name)
	errs.CheckName("namespace", r.Namespace)
	checkService(&errs, "service", r.Service)
	if r.Port < 1 || r.Port > 65535 {
		errs.Add("port", "want a port 1-65535, got %d", r.Port)
	}
	checkBackend(&errs, "stable", r.Stable)
	if r.Gray != nil {
		checkBackend(&errs, "gray", *r.Gray)
		if r.Gray.Version == r.Stable.Version {
			errs.Add("gray.version", "must differ from stable.version %q", r.Stable.Version)
		}
		if r.Gray.Service == r.Stable.Service {
			errs.Add("gray.service", "must differ from stable.service %q", r.Stable.Service)
		}
		for _, e := range r.SpanningBackends() {
			errs.Add(e+".service", "names the application's Service %q, which selects every version's pods, while a gray version runs", r.Service)
		}
	}
	checkPath(&errs, r.PathPrefix)
	checkHosts(&errs, r.Hosts)
	checkGateway(&errs, r.Gateway, needGateway)
	checkLabels(&errs, r.Labels)
	for _, fe := range r.Rules.Validate() {
		errs.Add("rules."+fe.Path, "%s", fe.Reason)
	}
	return errs.Err()
}

func checkObjectName(errs *resource.Errors, path, name string) {
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs.Add(path, "%s, got %q", msg, name)
	}
}

func checkService(errs *resource.Errors, path, name string) {
	for _, msg := range validation.IsDNS1035Label(name) {
		errs.Add(path, "not a Service name: %s, got %q", msg, name)
	}
}

func checkBackend(errs *resource.Errors, path string, b traffic.Backend) {
	checkService(errs, path+".service", b.Service)
	if b.Version == "" {
		errs.Add(path+".version", "must not be empty")
	}
	for _, msg := range validation.IsValidLabelValue(b.Version) {
		errs.Add(path+".version", "not a label value: %s, got %q", msg, b.Version)
	}
}

func checkPath(errs *resource.Errors, p string) {
	switch {
	case p == "":
	case !strings.HasPrefix(p, "/"):
		errs.Add("pathPrefix", "must start with /, got %q", p)
	case len(p) > 1024:
		errs.Add("pathPrefix", "must be at most 1024 characters, got %d", len(p))
	case !pathChars.MatchString(p) || strings.Contains(p, "//") || strings.Contains(p, "/./") ||
		strings.Contains(p, "/../") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/.."):
		errs.Add("pathPrefix", "not a clean URL path (RFC 3986 characters, no //, /./ or /../), got %q", p)
	}
}

func checkHosts(errs *resource.Errors, hosts []string) {
	for i, h := range hosts {
		msgs := validation.IsDNS1123Subdomain(h)
		if strings.HasPrefix(h, "*.") {
			msgs = validation.IsWildcardDNS1123Subdomain(h)
		}
		for _, msg := range msgs {
			errs.Add("hosts["+strconv.Itoa(i)+"]", "not a host name: %s, got %q", msg, h)
		}
	}
}

func checkGateway(errs *resource.Errors, g string, need bool) {
	if g == "" {
		if need {
			errs.Add("gateway", "this provider needs the Gateway the route attaches to (name or namespace/name)")
		}
		return
	}
	ns, name, hasNS := strings.Cut(g, "/")
	if !hasNS {
		ns, name = "", g
	}
	if hasNS && !resource.IsName(ns) {
		errs.Add("gateway", "namespace %q of %q is not a DNS-1123 label", ns, g)
	}
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		errs.Add("gateway", "name %q of %q is not a DNS-1123 subdomain", name, g)
	}
}

func checkLabels(errs *resource.Errors, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		for _, msg := range validation.IsQualifiedName(k) {
			errs.Add("labels["+k+"]", "not a label key: %s", msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			errs.Add("labels["+k+"]", "not a label value: %s, got %q", msg, v)
		}
	}
}
