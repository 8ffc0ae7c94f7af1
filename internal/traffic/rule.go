// Package traffic holds Berth's traffic domain: the gray-routing rule
// language shared by the Berth gateway, gray plans and the mesh translators.
//
// A request goes to gray if it matches ANY clause of a rule set, a clause
// being an AND of header conditions (exact value or set membership). The
// requests that match no clause are then split by weight: Weight percent of
// them go to gray. Blue-green sends everything to one side regardless of
// clauses and weight. docs/traffic-rules.md is the reference.
package traffic

import (
	"fmt"
	"net/textproto"
	"strings"

	"berth.dev/berth/internal/resource"
)

// Side is where a request is sent: the stable or the gray version.
type Side uint8

const (
	// Stable is the version currently serving production traffic.
	Stable Side = iota
	// Gray is the new version being released to a chosen part of traffic.
	Gray
)

// String returns "stable" or "gray".
func (s Side) String() string {
	if s == Gray {
		return "gray"
	}
	return "stable"
}

// Rules decides stable or gray for one application. The zero value sends
// everything to stable.
type Rules struct {
	// BlueGreen, when set to "stable" or "gray", sends all traffic to that
	// side; Match and Weight are then ignored.
	BlueGreen string `json:"blueGreen,omitempty"`
	// Match lists the clauses; a request matching any of them goes to gray.
	Match []Clause `json:"match,omitempty"`
	// Weight is the percentage (0-100) of the requests matching no clause
	// that go to gray.
	Weight int `json:"weight,omitempty"`
}

// Clause is an AND of header conditions. An empty clause matches nothing,
// so that a half-written plan never sends everything to gray.
type Clause struct {
	Headers []Condition `json:"headers"`
}

// Condition holds when the request header Header has one of Values
// (compared exactly, case-sensitively). One value is an exact match, several
// are set membership. A missing header never matches.
type Condition struct {
	Header string   `json:"header"`
	Values []string `json:"values"`
}

// HeaderLookup is what matching needs of a request: the value of a header
// by canonical name, "" when absent. A repeated header should read as its
// values joined by "," in order, as Envoy matches it (the gateway's lookups
// do; http.Header's Get reads only the first).
type HeaderLookup interface {
	Get(name string) string
}

// Rand is the random source of weighted choice: IntN returns a number in
// [0, n). *math/rand/v2.Rand satisfies it; tests inject a fixed one.
type Rand interface {
	IntN(n int) int
}

// Validate returns every invalid field of r, or nil, each named by its path
// relative to the rule set (e.g. "match[1].headers[0].values").
func (r Rules) Validate() []*resource.FieldError {
	var errs []*resource.FieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, &resource.FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	switch r.BlueGreen {
	case "", "stable", "gray":
	default:
		bad("blueGreen", "want stable, gray or empty, got %q", r.BlueGreen)
	}
	if r.Weight < 0 || r.Weight > 100 {
		bad("weight", "want a percentage 0-100, got %d", r.Weight)
	}
	for i, c := range r.Match {
		if len(c.Headers) == 0 {
			bad(fmt.Sprintf("match[%d].headers", i), "a clause needs at least one condition")
		}
		for j, cond := range c.Headers {
			p := fmt.Sprintf("match[%d].headers[%d]", i, j)
			if !validHeaderName(cond.Header) {
				bad(p+".header", "not a valid header name: %q", cond.Header)
			}
			if len(cond.Values) == 0 {
				bad(p+".values", "want at least one value")
			}
			for k, v := range cond.Values {
				if v == "" {
					bad(fmt.Sprintf("%s.values[%d]", p, k), "must not be empty: a missing header never matches")
				}
			}
		}
	}
	return errs
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
			c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// Headers returns the canonical names of the headers r reads, without
// duplicates, in order of first use. It does not keep r's slices.
func (r Rules) Headers() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range r.Match {
		for _, cond := range c.Headers {
			h := textproto.CanonicalMIMEHeaderKey(cond.Header)
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	return out
}

// String renders r in the notation of docs/traffic-rules.md, for logs.
func (r Rules) String() string {
	if r.BlueGreen != "" {
		return "all to " + r.BlueGreen
	}
	var clauses []string
	for _, c := range r.Match {
		var conds []string
		for _, cond := range c.Headers {
			conds = append(conds, cond.Header+" in ("+strings.Join(cond.Values, ",")+")")
		}
		clauses = append(clauses, strings.Join(conds, " and "))
	}
	return fmt.Sprintf("gray if [%s] else %d%% gray", strings.Join(clauses, " or "), r.Weight)
}
