package traffic_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/traffic"
)

// fixedRand returns the same number every time, so weighted choices are
// deterministic per request.
type fixedRand int

func (f fixedRand) IntN(n int) int { return int(f) % n }

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func cond(header string, values ...string) traffic.Condition {
	return traffic.Condition{Header: header, Values: values}
}

func clause(conds ...traffic.Condition) traffic.Clause { return traffic.Clause{Headers: conds} }

func TestDecide(t *testing.T) {
	t.Parallel()
	branchPilot := traffic.Rules{Match: []traffic.Clause{
		clause(cond("X-Org-Region", "north"), cond("X-Org-Branch", "0101", "0102")),
		clause(cond("X-Org-Teller", "T900")),
	}}
	tests := []struct {
		name    string
		rules   traffic.Rules
		headers http.Header
		rnd     int
		want    traffic.Side
	}{
		{"the zero rule set sends everything to stable", traffic.Rules{}, hdr("X-Org-Branch", "0101"), 0, traffic.Stable},
		{"a request matching every condition of a clause goes to gray", branchPilot,
			hdr("X-Org-Region", "north", "X-Org-Branch", "0102"), 99, traffic.Gray},
		{"matching only part of a clause is not enough", branchPilot,
			hdr("X-Org-Region", "north", "X-Org-Branch", "0201"), 99, traffic.Stable},
		{"matching any one clause is enough", branchPilot, hdr("X-Org-Teller", "T900"), 99, traffic.Gray},
		{"a missing header never matches", branchPilot, hdr("X-Org-Region", "north"), 99, traffic.Stable},
		{"values compare case-sensitively", branchPilot, hdr("X-Org-Teller", "t900"), 99, traffic.Stable},
		{"header names are case-insensitive",
			traffic.Rules{Match: []traffic.Clause{clause(cond("x-org-teller", "T1"))}}, hdr("X-ORG-TELLER", "T1"), 99, traffic.Gray},
		{"a repeated header does not hold a condition on one of its values",
			traffic.Rules{Match: []traffic.Clause{clause(cond("X-Org-Teller", "T2"))}},
			http.Header{"X-Org-Teller": {"T1", "T2"}}, 99, traffic.Stable},
		{"set membership with many values uses the same semantics",
			traffic.Rules{Match: []traffic.Clause{clause(cond("X-Org-Branch", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"))}},
			hdr("X-Org-Branch", "9"), 99, traffic.Gray},
		{"weight sends a draw below it to gray", traffic.Rules{Weight: 30}, hdr(), 29, traffic.Gray},
		{"weight sends a draw at or above it to stable", traffic.Rules{Weight: 30}, hdr(), 30, traffic.Stable},
		{"weight 100 sends the rest to gray", traffic.Rules{Weight: 100}, hdr(), 99, traffic.Gray},
		{"weight applies only to requests matching no clause",
			traffic.Rules{Match: branchPilot.Match, Weight: 10}, hdr("X-Org-Teller", "T900"), 99, traffic.Gray},
		{"blue-green gray sends everything to gray", traffic.Rules{BlueGreen: "gray"}, hdr(), 99, traffic.Gray},
		{"blue-green stable overrides matching clauses",
			traffic.Rules{BlueGreen: "stable", Match: branchPilot.Match, Weight: 100}, hdr("X-Org-Teller", "T900"), 0, traffic.Stable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := traffic.Compile(tt.rules)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if got := m.Decide(tt.headers, fixedRand(tt.rnd)); got != tt.want {
				t.Errorf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecideWeightIsWithinTolerance(t *testing.T) {
	t.Parallel()
	const n = 200_000
	for _, weight := range []int{1, 10, 50, 90} {
		m, err := traffic.Compile(traffic.Rules{Weight: weight})
		if err != nil {
			t.Fatal(err)
		}
		rnd := rand.New(rand.NewPCG(1, uint64(weight)))
		gray := 0
		for range n {
			if m.Decide(http.Header{}, rnd) == traffic.Gray {
				gray++
			}
		}
		// Five standard deviations of a binomial(n, p) proportion.
		p := float64(weight) / 100
		tol := 5 * math.Sqrt(p*(1-p)/n)
		if got := float64(gray) / n; got < p-tol || got > p+tol {
			t.Errorf("weight %d: gray share %.4f, want %.4f ± %.4f", weight, got, p, tol)
		}
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	r := traffic.Rules{
		BlueGreen: "blue",
		Weight:    101,
		Match: []traffic.Clause{
			{},
			clause(cond("X Bad", "a"), cond("X-Org-Branch"), cond("X-Org-Teller", "")),
		},
	}
	var got []string
	for _, e := range r.Validate() {
		got = append(got, e.Path)
	}
	want := "blueGreen weight match[0].headers match[1].headers[0].header match[1].headers[1].values match[1].headers[2].values[0]"
	if strings.Join(got, " ") != want {
		t.Errorf("paths = %v\nwant   %v", got, want)
	}
	if _, err := traffic.Compile(r); err == nil {
		t.Error("Compile accepted invalid rules")
	}
}

func TestHeadersListsReadHeadersOnce(t *testing.T) {
	t.Parallel()
	r := traffic.Rules{Match: []traffic.Clause{
		clause(cond("x-org-region", "n"), cond("X-Org-Branch", "1")),
		clause(cond("X-ORG-REGION", "s")),
	}}
	if got := strings.Join(r.Headers(), ","); got != "X-Org-Region,X-Org-Branch" {
		t.Errorf("Headers = %s", got)
	}
}

// FuzzMatcher decodes arbitrary rule sets and headers and checks the
// matcher's contract: no panic, and Decide agrees with a direct reading of
// the semantics.
func FuzzMatcher(f *testing.F) {
	f.Add([]byte(`{"match":[{"headers":[{"header":"X-Org-Branch","values":["0101","0102"]}]}],"weight":20}`), "X-Org-Branch", "0101", 5)
	f.Add([]byte(`{"blueGreen":"gray"}`), "X-Org-Teller", "T1", 99)
	f.Add([]byte(`{"match":[{"headers":[]}]}`), "", "", 0)
	f.Fuzz(func(t *testing.T, rulesJSON []byte, name, value string, draw int) {
		var r traffic.Rules
		if json.Unmarshal(rulesJSON, &r) != nil {
			return
		}
		m, err := traffic.Compile(r)
		if err != nil {
			if len(r.Validate()) == 0 {
				t.Fatalf("Compile failed but Validate passed: %v", err)
			}
			return
		}
		h := http.Header{}
		if validName(name) {
			h.Set(name, value)
		}
		if draw < 0 {
			draw = -draw
		}
		got := m.Decide(h, fixedRand(draw%100))
		if want := reference(r, h, draw%100); got != want {
			t.Fatalf("Decide = %v, reference = %v for %s with %v", got, want, r, h)
		}
	})
}

func validName(s string) bool {
	return len(traffic.Rules{Match: []traffic.Clause{clause(cond(s, "x"))}}.Validate()) == 0
}

// reference is the semantics of docs/traffic-rules.md written as plainly as
// possible.
func reference(r traffic.Rules, h http.Header, draw int) traffic.Side {
	switch r.BlueGreen {
	case "gray":
		return traffic.Gray
	case "stable":
		return traffic.Stable
	}
	for _, c := range r.Match {
		all := true
		for _, cond := range c.Headers {
			v := h.Get(cond.Header)
			in := false
			for _, want := range cond.Values {
				in = in || (v != "" && v == want)
			}
			all = all && in
		}
		if all && len(c.Headers) > 0 {
			return traffic.Gray
		}
	}
	if draw < r.Weight {
		return traffic.Gray
	}
	return traffic.Stable
}
