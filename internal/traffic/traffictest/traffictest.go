// Package traffictest holds the semantics table every traffic provider is
// checked against: routes with rule sets and sample requests, and the
// share of each request that traffic.Compile(...).Decide sends to gray.
// A provider's test renders each case's route, evaluates the rendered
// objects against the request by the provider's own specification, and
// compares the share.
package traffictest

import (
	"encoding/json"
	"net/textproto"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/traffic"
)

// Headers is a request's header fields by canonical name, each with every
// value in the order sent.
type Headers map[string][]string

// H builds Headers from name, value pairs; a name given twice gets two
// values.
func H(kv ...string) Headers {
	h := Headers{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := textproto.CanonicalMIMEHeaderKey(kv[i])
		h[k] = append(h[k], kv[i+1])
	}
	return h
}

// Get returns the values of the header name joined by "," ("" when
// absent), as Envoy and Berth's gateway read a repeated header; it makes
// Headers a traffic.HeaderLookup.
func (h Headers) Get(name string) string {
	return strings.Join(h[textproto.CanonicalMIMEHeaderKey(name)], ",")
}

// Values returns every value of the header name. It returns h's slice.
func (h Headers) Values(name string) []string {
	return h[textproto.CanonicalMIMEHeaderKey(name)]
}

// Request is a sample request: its path (no query) and headers.
type Request struct {
	Path    string
	Headers Headers
}

// Case is one row of the table.
type Case struct {
	Name    string
	Route   traffic.Route
	Request Request
}

// GrayShare is the number of the 100 equally likely draws for which
// traffic.Compile(c.Route.Rules).Decide sends c.Request to gray (0 when
// the route has no gray version): the exact percentage of such requests
// that go to gray.
func (c Case) GrayShare() (int, error) {
	if c.Route.Gray == nil {
		return 0, nil
	}
	m, err := traffic.Compile(c.Route.Rules)
	if err != nil {
		return 0, err
	}
	n := 0
	for draw := range 100 {
		if m.Decide(c.Request.Headers, fixed(draw)) == traffic.Gray {
			n++
		}
	}
	return n, nil
}

type fixed int

func (f fixed) IntN(n int) int { return int(f) % n }

// Route returns a complete route for the application red-auth in
// namespace bank-prod, with stable v1 and gray v2, carrying rules.
func Route(rules traffic.Rules) traffic.Route {
	return traffic.Route{
		Name:      "red-auth",
		Namespace: "bank-prod",
		Hosts:     []string{"auth.bank.example"},
		Service:   "red-auth",
		Port:      8080,
		Gateway:   "edge/public",
		Stable:    traffic.Backend{Version: "v1", Service: "red-auth-v1"},
		Gray:      &traffic.Backend{Version: "v2", Service: "red-auth-v2"},
		Rules:     rules,
		Labels:    map[string]string{"app.kubernetes.io/managed-by": "berth", "berth.dev/app": "red-auth"},
	}
}

// Cond returns a condition.
func Cond(header string, values ...string) traffic.Condition {
	return traffic.Condition{Header: header, Values: values}
}

// Clause returns a clause of conds.
func Clause(conds ...traffic.Condition) traffic.Clause { return traffic.Clause{Headers: conds} }

// Pilot is the typical rule set: branches 0101 and 0102 of region north,
// and the teller T900 anywhere.
func Pilot() []traffic.Clause {
	return []traffic.Clause{
		Clause(Cond("X-Org-Region", "north"), Cond("X-Org-Branch", "0101", "0102")),
		Clause(Cond("X-Org-Teller", "T900")),
	}
}

func req(h Headers) Request { return Request{Path: "/", Headers: h} }

// Cases returns the table: the cases of the rule table of
// docs/traffic-rules.md, plus what providers translate specially (value
// sets, repeated headers in a clause, escaping, paths, no gray version).
func Cases() []Case {
	rules := func(m []traffic.Clause, w int) traffic.Route { return Route(traffic.Rules{Match: m, Weight: w}) }
	one := func(h string, vs ...string) []traffic.Clause { return []traffic.Clause{Clause(Cond(h, vs...))} }
	noGray := rules(Pilot(), 50)
	noGray.Gray = nil
	prefixed := rules(Pilot(), 0)
	prefixed.PathPrefix = "/api"
	many := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	return []Case{
		{"the zero rule set sends everything to stable", Route(traffic.Rules{}), req(H("X-Org-Branch", "0101"))},
		{"a request matching every condition of a clause goes to gray", rules(Pilot(), 0), req(H("X-Org-Region", "north", "X-Org-Branch", "0102"))},
		{"matching only part of a clause is not enough", rules(Pilot(), 0), req(H("X-Org-Region", "north", "X-Org-Branch", "0201"))},
		{"matching any one clause is enough", rules(Pilot(), 0), req(H("X-Org-Teller", "T900"))},
		{"a missing header never matches", rules(Pilot(), 0), req(H("X-Org-Region", "north"))},
		{"values compare case-sensitively", rules(Pilot(), 0), req(H("X-Org-Teller", "t900"))},
		{"header names are case-insensitive", rules(one("x-org-teller", "T1"), 0), req(H("X-ORG-TELLER", "T1"))},
		{"a repeated header does not hold a condition on one of its values", rules(one("X-Org-Teller", "T1"), 0), req(H("X-Org-Teller", "T1", "X-Org-Teller", "T2"))},
		{"a repeated header is read as its values joined by a comma", rules(one("X-Org-Teller", "T1,T2"), 0), req(H("X-Org-Teller", "T1", "X-Org-Teller", "T2"))},
		{"set membership with many values holds for a member", rules(one("X-Org-Branch", many...), 0), req(H("X-Org-Branch", "9"))},
		{"set membership with many values fails for a non-member", rules(one("X-Org-Branch", many...), 0), req(H("X-Org-Branch", "11"))},
		{"set membership is not a substring match", rules(one("X-Org-Branch", "0101", "0102"), 0), req(H("X-Org-Branch", "01010"))},
		{"weight sends its share of the rest to gray", Route(traffic.Rules{Weight: 30}), req(H())},
		{"weight 100 sends the rest to gray", Route(traffic.Rules{Weight: 100}), req(H())},
		{"weight applies only to requests matching no clause", rules(Pilot(), 10), req(H("X-Org-Teller", "T900"))},
		{"weight applies to the requests matching no clause", rules(Pilot(), 10), req(H("X-Org-Teller", "T901"))},
		{"blue-green gray sends everything to gray", Route(traffic.Rules{BlueGreen: "gray"}), req(H())},
		{"blue-green stable overrides matching clauses",
			Route(traffic.Rules{BlueGreen: "stable", Match: Pilot(), Weight: 100}), req(H("X-Org-Teller", "T900"))},
		{"without a gray version everything goes to stable", noGray, req(H("X-Org-Teller", "T900"))},
		{"two conditions on one header hold only for a value in both",
			rules([]traffic.Clause{Clause(Cond("X-Org-Branch", "0101", "0102"), Cond("x-org-branch", "0102", "0103"))}, 0),
			req(H("X-Org-Branch", "0102"))},
		{"two conditions on one header fail for a value in only one",
			rules([]traffic.Clause{Clause(Cond("X-Org-Branch", "0101", "0102"), Cond("x-org-branch", "0102", "0103"))}, 0),
			req(H("X-Org-Branch", "0101"))},
		{"conditions on one header with no common value never hold",
			rules([]traffic.Clause{Clause(Cond("X-Org-Branch", "0101"), Cond("X-Org-Branch", "0102")), Clause(Cond("X-Org-Teller", "T1"))}, 20),
			req(H("X-Org-Branch", "0101"))},
		{"values with regular expression characters match literally", rules(one("X-Org-Teller", "T.1", "a|b", "(x)*"), 0), req(H("X-Org-Teller", "a|b"))},
		{"a regular expression character is not a wildcard", rules(one("X-Org-Teller", "T.1", "a|b"), 0), req(H("X-Org-Teller", "TX1"))},
		{"an alternation does not match a part of a value", rules(one("X-Org-Teller", "T.1", "a|b"), 0), req(H("X-Org-Teller", "a"))},
		{"a clause on three headers holds when all three do",
			rules([]traffic.Clause{Clause(Cond("X-Org-Region", "north", "south"), Cond("X-Org-Branch", "0101", "0201"), Cond("X-Org-Teller", "T1", "T2"))}, 0),
			req(H("X-Org-Region", "south", "X-Org-Branch", "0101", "X-Org-Teller", "T2"))},
		{"a path under the prefix is routed by the rules", prefixed, Request{Path: "/api/pay", Headers: H("X-Org-Teller", "T900")}},
		{"the prefix itself is under the prefix", prefixed, Request{Path: "/api", Headers: H("X-Org-Teller", "T900")}},
	}
}

// Representative returns the routes whose rendered objects providers pin
// in golden files, by file name.
func Representative() map[string]traffic.Route {
	noGray := Route(traffic.Rules{Match: Pilot(), Weight: 50})
	noGray.Gray = nil
	sets := Route(traffic.Rules{Match: []traffic.Clause{
		Clause(Cond("X-Org-Region", "north", "south"), Cond("X-Org-Branch", "0101", "0102", "0103")),
		Clause(Cond("X-Org-Teller", "T-9.0", "T(7)")),
	}, Weight: 25})
	sets.PathPrefix = "/api"
	return map[string]traffic.Route{
		"pilot-weighted":  Route(traffic.Rules{Match: Pilot(), Weight: 10}),
		"weight-only":     Route(traffic.Rules{Weight: 30}),
		"blue-green-gray": Route(traffic.Rules{BlueGreen: "gray", Match: Pilot()}),
		"no-gray":         noGray,
		"sets-and-path":   sets,
	}
}

// MarshalObjects writes objs as one YAML stream, documents separated by
// "---", keys sorted: the form of the golden files.
func MarshalObjects(objs []*unstructured.Unstructured) ([]byte, error) {
	var out []byte
	for i, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, "---\n"...)
		}
		out = append(out, b...)
	}
	return out, nil
}

// UnmarshalObjects reads a stream written by MarshalObjects.
func UnmarshalObjects(b []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, err
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

// Random is the random source RandomCase draws from; *math/rand/v2.Rand
// satisfies it.
type Random interface {
	IntN(n int) int
}

var (
	randomHeaders = []string{"X-Org-Region", "X-Org-Branch", "x-org-branch", "X-Org-Teller"}
	randomValues  = []string{"a", "b", "c", "a.b", "a|b", "(a)"}
)

// RandomCase draws a valid route and a request from small alphabets, so
// that values and headers collide often. Requests never repeat a header
// and values never contain ',' (see docs/traffic-rules.md on repeated
// headers); clauses stay small enough for every provider's limits.
func RandomCase(rnd Random) Case {
	pick := func(list []string) string { return list[rnd.IntN(len(list))] }
	var rules traffic.Rules
	for range rnd.IntN(4) {
		var c traffic.Clause
		for range 1 + rnd.IntN(3) {
			var vs []string
			for range 1 + rnd.IntN(3) {
				vs = append(vs, pick(randomValues))
			}
			c.Headers = append(c.Headers, Cond(pick(randomHeaders), vs...))
		}
		rules.Match = append(rules.Match, c)
	}
	rules.Weight = []int{0, 0, 0, 10, 50, 99, 100}[rnd.IntN(7)]
	if rnd.IntN(10) == 0 {
		rules.BlueGreen = pick([]string{"stable", "gray"})
	}
	r := Route(rules)
	if rnd.IntN(10) == 0 {
		r.Gray = nil
	}
	h := H()
	for _, name := range []string{"X-Org-Region", "X-Org-Branch", "X-Org-Teller"} {
		if rnd.IntN(4) > 0 {
			h[name] = []string{pick(append(randomValues, "x"))}
		}
	}
	return Case{Name: "random", Route: r, Request: req(h)}
}

// FuzzCase turns fuzz input into a case: rules decoded from JSON (invalid
// ones are skipped), a request carrying up to two headers (a header named
// twice is skipped: see docs/traffic-rules.md on repeated headers). It
// reports false when the input makes no valid case.
func FuzzCase(rulesJSON []byte, h1, v1, h2, v2 string) (Case, bool) {
	var rules traffic.Rules
	if json.Unmarshal(rulesJSON, &rules) != nil || len(rules.Validate()) > 0 {
		return Case{}, false
	}
	h := H()
	for _, kv := range [][2]string{{h1, v1}, {h2, v2}} {
		if kv[0] == "" || kv[1] == "" || !validName(kv[0]) {
			continue
		}
		if len(h.Values(kv[0])) > 0 {
			return Case{}, false
		}
		h = H(append(pairs(h), kv[0], kv[1])...)
	}
	return Case{Name: "fuzz", Route: Route(rules), Request: req(h)}, true
}

func validName(s string) bool {
	return len(traffic.Rules{Match: []traffic.Clause{Clause(Cond(s, "x"))}}.Validate()) == 0
}

func pairs(h Headers) []string {
	var kv []string
	for k, vs := range h {
		for _, v := range vs {
			kv = append(kv, k, v)
		}
	}
	return kv
}
