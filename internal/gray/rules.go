package gray

import (
	"fmt"
	"net/textproto"
	"strings"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
)

// Headers are the request headers that carry a request's organisation.
// They are platform configuration: banks name them differently.
type Headers struct {
	Region string `json:"region"`
	Branch string `json:"branch"`
	Teller string `json:"teller"`
}

// DefaultHeaders are X-Org-Region, X-Org-Branch and X-Org-Teller.
var DefaultHeaders = Headers{Region: "X-Org-Region", Branch: "X-Org-Branch", Teller: "X-Org-Teller"}

// ParseHeaders reads "region,branch,teller" header names ("" gives the
// defaults).
func ParseHeaders(s string) (Headers, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultHeaders, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Headers{}, fmt.Errorf("org headers: want three names region,branch,teller, got %q", s)
	}
	h := Headers{Region: strings.TrimSpace(parts[0]), Branch: strings.TrimSpace(parts[1]), Teller: strings.TrimSpace(parts[2])}
	probe := traffic.Rules{Match: []traffic.Clause{{Headers: []traffic.Condition{
		{Header: h.Region, Values: []string{"x"}}, {Header: h.Branch, Values: []string{"x"}}, {Header: h.Teller, Values: []string{"x"}}}}}}
	if errs := probe.Validate(); len(errs) > 0 {
		return Headers{}, fmt.Errorf("org headers %q: not valid header names", s)
	}
	return h, nil
}

// Rules compiles the plan to the traffic rule language for its phase:
//   - Running canary: a request goes to gray if it carries a region, branch
//     or teller of any step up to the current one (one clause per level, so
//     OR across levels and set membership within one); of the others, the
//     current step's Weight percent go to gray.
//   - Running blue-green: everything to Side.
//   - Promoted: everything to the new stable (the old runs, unrouted).
//   - Ended, Aborted: the zero rules (all to stable).
func (p Plan) Rules(h Headers) traffic.Rules {
	switch {
	case p.Phase == Promoted:
		return traffic.Rules{BlueGreen: "stable"}
	case p.Phase != Running:
		return traffic.Rules{}
	case p.Strategy == BlueGreen:
		return traffic.Rules{BlueGreen: p.Side}
	}
	var regions, branches, tellers []string
	for i := 0; i <= p.Step && i < len(p.Steps); i++ {
		s := p.Steps[i]
		regions = appendNew(regions, s.Regions...)
		branches = appendNew(branches, s.Branches...)
		tellers = appendNew(tellers, s.Tellers...)
	}
	var r traffic.Rules
	for _, c := range []struct {
		header string
		values []string
	}{{h.Teller, tellers}, {h.Branch, branches}, {h.Region, regions}} {
		if len(c.values) > 0 {
			r.Match = append(r.Match, traffic.Clause{Headers: []traffic.Condition{
				{Header: textproto.CanonicalMIMEHeaderKey(c.header), Values: c.values}}})
		}
	}
	if p.Step < len(p.Steps) {
		r.Weight = p.Steps[p.Step].Weight
	}
	return r
}

func appendNew(to []string, vs ...string) []string {
	for _, v := range vs {
		found := false
		for _, x := range to {
			if x == v {
				found = true
				break
			}
		}
		if !found {
			to = append(to, v)
		}
	}
	return to
}

// MaxSteps and MaxCohort bound a plan.
const (
	MaxSteps  = 50
	MaxCohort = 1000
)

// validateSpec checks the parts of a plan a person writes, naming each bad
// field.
func validateSpec(p Plan) error {
	var errs resource.Errors
	errs.CheckName("application", p.Application)
	errs.CheckName("grayVersion", p.GrayVersion)
	if p.GrayReplicas != nil && (*p.GrayReplicas < 1 || *p.GrayReplicas > 1000) {
		errs.Add("grayReplicas", "must be between 1 and 1000, got %d", *p.GrayReplicas)
	}
	switch p.Strategy {
	case Canary:
		validateSteps(&errs, p.Steps, p.Step)
	case BlueGreen:
		if len(p.Steps) > 0 {
			errs.Add("steps", "a blue-green plan has no steps; it switches with side")
		}
		if p.Side != "stable" && p.Side != "gray" {
			errs.Add("side", "want stable or gray, got %q", p.Side)
		}
	default:
		errs.Add("strategy", "want canary or blue-green, got %q", p.Strategy)
	}
	return errs.Err()
}

func validateSteps(errs *resource.Errors, steps []Step, cur int) {
	if len(steps) == 0 {
		errs.Add("steps", "a canary plan needs at least one step")
	}
	if len(steps) > MaxSteps {
		errs.Add("steps", "at most %d steps, got %d", MaxSteps, len(steps))
	}
	if cur < 0 || (len(steps) > 0 && cur >= len(steps)) {
		errs.Add("step", "want a step between 0 and %d, got %d", max(len(steps)-1, 0), cur)
	}
	for i, s := range steps {
		path := fmt.Sprintf("steps[%d]", i)
		if len(s.Regions)+len(s.Branches)+len(s.Tellers) == 0 && s.Weight == 0 {
			errs.Add(path, "a step needs a cohort (regions, branches or tellers) or a weight")
		}
		if s.Weight < 0 || s.Weight > 100 {
			errs.Add(path+".weight", "want a percentage 0-100, got %d", s.Weight)
		}
		analysis.Validate(errs, path+".checks", s.Checks, true)
		for _, l := range []struct {
			name string
			vals []string
		}{{"regions", s.Regions}, {"branches", s.Branches}, {"tellers", s.Tellers}} {
			if len(l.vals) > MaxCohort {
				errs.Add(path+"."+l.name, "at most %d codes, got %d", MaxCohort, len(l.vals))
			}
			for j, v := range l.vals {
				if v == "" || strings.TrimSpace(v) != v || len(v) > 128 {
					errs.Add(fmt.Sprintf("%s.%s[%d]", path, l.name, j), "want a code without surrounding spaces, 1-128 characters, got %q", v)
				}
			}
		}
	}
}
