package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/resource"
)

// Validate adds to errs what is wrong with checks, each field named under
// path ("items[0].checks[1].threshold"). gray says whether the checks are
// a gray plan step's (only those compare with the stable version).
func Validate(errs *resource.Errors, path string, checks []Check, gray bool) {
	if len(checks) > MaxChecks {
		errs.Add(path, "at most %d checks, got %d", MaxChecks, len(checks))
		return
	}
	seen := map[string]int{}
	for i, c := range checks {
		p := fmt.Sprintf("%s[%d]", path, i)
		errs.CheckName(p+".name", c.Name)
		if j, dup := seen[c.Name]; dup {
			errs.Add(p+".name", "%s is already %s[%d]", c.Name, path, j)
		}
		seen[c.Name] = i
		c.validate(errs, p, gray)
	}
}

func (c Check) validate(errs *resource.Errors, p string, gray bool) {
	switch {
	case c.Template == "" && strings.TrimSpace(c.Query) == "":
		errs.Add(p+".template", "give a template (%s) or a custom query", strings.Join(Templates(), ", "))
	case c.Template != "" && c.Query != "":
		errs.Add(p+".query", "a check has a template or a custom query, not both")
	case c.Template != "" && !slices.Contains(Templates(), c.Template):
		errs.Add(p+".template", "must be one of %s, got %q", strings.Join(Templates(), ", "), c.Template)
	case c.Template == ErrorRateOverStable && !gray:
		errs.Add(p+".template", "%s compares a gray version with the stable one: only a gray plan's step has both", ErrorRateOverStable)
	default:
		errs.CheckLen(p+".query", c.Query, MaxQuery)
		if c.Threshold == "" {
			errs.Add(p+".threshold", "give a threshold (%s)", thresholdForm(c.Template))
		} else if _, err := parseThreshold(c.Template, c.Threshold); err != nil {
			errs.Add(p+".threshold", "%v", err)
		}
	}
	if c.Interval != "" {
		d, err := time.ParseDuration(c.Interval)
		switch {
		case err != nil:
			errs.Add(p+".interval", "want a duration with its unit, such as \"1m\" or \"30s\", got %q", c.Interval)
		case d < MinInterval || d > MaxInterval || d%time.Second != 0:
			errs.Add(p+".interval", "want whole seconds between %s and %s, got %s", MinInterval, MaxInterval, d)
		}
	}
	if c.Samples < 0 || c.Samples > MaxSamples {
		errs.Add(p+".samples", "want 1 to %d samples (0 for the default %d), got %d", MaxSamples, DefaultSamples, c.Samples)
	}
	if c.FailureLimit < 0 || c.FailureLimit >= max(c.samples(), 1) {
		errs.Add(p+".failureLimit", "want 0 to %d failed samples tolerated (fewer than the %d samples), got %d", c.samples()-1, c.samples(), c.FailureLimit)
	}
	if c.NoData != "" && c.NoData != Fail && c.NoData != Pass {
		errs.Add(p+".noData", "must be fail or pass, got %q", c.NoData)
	}
}

func thresholdForm(template string) string {
	switch template {
	case ErrorRate, ErrorRateOverStable:
		return `a percentage such as "0.5%"`
	case LatencyP99:
		return `a duration such as "300ms"`
	}
	return `a comparison such as "<= 0.05" or "> 100"`
}

// threshold is a parsed Threshold: a value passes when it compares with
// Value by Op.
type threshold struct {
	Op    string // "<=", "<", ">=", ">"
	Value float64
}

func (t threshold) passes(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case ">=":
		return v >= t.Value
	case ">":
		return v > t.Value
	}
	return v <= t.Value
}

// parseThreshold reads s in the unit of template: a fraction for error
// rates, seconds for latency, a comparison for a custom query.
func parseThreshold(template, s string) (threshold, error) {
	s = strings.TrimSpace(s)
	switch template {
	case ErrorRate, ErrorRateOverStable:
		num, ok := strings.CutSuffix(s, "%")
		if !ok {
			return threshold{}, fmt.Errorf("must be a percentage with its unit, such as \"0.5%%\", got %q", s)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v < 0 || v > 100 {
			return threshold{}, fmt.Errorf("must be a percentage between 0%% and 100%%, got %q", s)
		}
		return threshold{"<=", v / 100}, nil
	case LatencyP99:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return threshold{}, fmt.Errorf("must be a duration with its unit, such as \"300ms\" or \"1.5s\", got %q", s)
		}
		return threshold{"<=", d.Seconds()}, nil
	}
	for _, op := range []string{"<=", ">=", "<", ">"} { // two-character operators first
		if rest, ok := strings.CutPrefix(s, op); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				break
			}
			return threshold{op, v}, nil
		}
	}
	return threshold{}, fmt.Errorf("must compare the query's value with a number, such as \"<= 0.05\" or \"> 100\", got %q", s)
}

// CheckQueries has checker parse every custom query of checks as
// Prometheus does (it loads each as an alert rule's expression); a refused
// one is a field error under path.
func CheckQueries(ctx context.Context, checker Checker, path string, checks []Check) error {
	if checker == nil {
		return nil
	}
	var errs resource.Errors
	for i, c := range checks {
		if c.Query == "" {
			continue
		}
		file, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "analysis",
			"rules": []any{map[string]any{"alert": "check", "expr": c.Query}}}}})
		if err != nil {
			return fmt.Errorf("render check %s: %w", c.Name, err)
		}
		err = checker.CheckRules(ctx, file)
		var refused *alert.RefusedError
		if errors.As(err, &refused) {
			errs.Add(fmt.Sprintf("%s[%d].query", path, i), "Prometheus refuses the query: %s", refused.Reason)
			continue
		}
		if err != nil {
			return fmt.Errorf("check query of %s: %w", c.Name, err)
		}
	}
	return errs.Err()
}

func (c Check) samples() int {
	if c.Samples == 0 {
		return DefaultSamples
	}
	return c.Samples
}

func (c Check) interval() time.Duration {
	if d, err := time.ParseDuration(c.Interval); err == nil && d > 0 {
		return d
	}
	return DefaultInterval
}

// Span is how long checks take at most: the longest check's samples, each
// read a settling time after its window ends.
func Span(checks []Check) time.Duration {
	var longest time.Duration
	for _, c := range checks {
		longest = max(longest, time.Duration(c.samples())*c.interval()+settle(c.interval()))
	}
	return longest
}
