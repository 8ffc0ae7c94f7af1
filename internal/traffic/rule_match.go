package traffic

import (
	"net/textproto"
)

// Matcher is a compiled, immutable form of Rules, safe for concurrent use.
// Build it once per configuration with Compile; Decide runs per request.
type Matcher struct {
	all     Side // meaningful when fixed
	fixed   bool
	clauses [][]condition
	weight  int
}

type condition struct {
	header string // canonical
	one    string // the value when there is exactly one
	set    map[string]struct{}
}

// setThreshold is the number of values from which membership uses a map
// rather than a linear scan.
const setThreshold = 8

// Compile checks r and returns its Matcher. It does not keep r's slices.
func Compile(r Rules) (*Matcher, error) {
	if errs := r.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	m := &Matcher{weight: r.Weight}
	switch r.BlueGreen {
	case "stable":
		m.fixed, m.all = true, Stable
		return m, nil
	case "gray":
		m.fixed, m.all = true, Gray
		return m, nil
	}
	for _, c := range r.Match {
		conds := make([]condition, 0, len(c.Headers))
		for _, cond := range c.Headers {
			conds = append(conds, compileCondition(cond))
		}
		m.clauses = append(m.clauses, conds)
	}
	return m, nil
}

func compileCondition(c Condition) condition {
	out := condition{header: textproto.CanonicalMIMEHeaderKey(c.Header)}
	if len(c.Values) == 1 {
		out.one = c.Values[0]
		return out
	}
	out.set = make(map[string]struct{}, len(c.Values))
	for _, v := range c.Values {
		out.set[v] = struct{}{}
	}
	return out
}

func (c *condition) holds(h HeaderLookup) bool {
	v := h.Get(c.header)
	if v == "" {
		return false
	}
	if c.set == nil {
		return v == c.one
	}
	_, ok := c.set[v]
	return ok
}

// Matches reports whether h satisfies at least one clause. Blue-green rule
// sets match nothing: they do not look at headers.
func (m *Matcher) Matches(h HeaderLookup) bool {
	for _, clause := range m.clauses {
		if clauseHolds(clause, h) {
			return true
		}
	}
	return false
}

func clauseHolds(clause []condition, h HeaderLookup) bool {
	for i := range clause {
		if !clause[i].holds(h) {
			return false
		}
	}
	return true
}

// Decide returns the side for a request with headers h. rnd is consulted
// only when a weight between 1 and 99 applies, so decisions by header alone
// are deterministic.
func (m *Matcher) Decide(h HeaderLookup, rnd Rand) Side {
	if m.fixed {
		return m.all
	}
	if m.Matches(h) {
		return Gray
	}
	switch {
	case m.weight <= 0:
		return Stable
	case m.weight >= 100:
		return Gray
	case rnd.IntN(100) < m.weight:
		return Gray
	}
	return Stable
}
