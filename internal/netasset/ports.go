// Package netasset holds network assets (F8): port pools allocated to
// tenants and projects as ranges, bandwidth quotas and isolation. This file
// is the port set: the ranges users read and write as
// "30061-30062, 30064, 30312-30332".
package netasset

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MinPort and MaxPort bound every port.
const (
	MinPort = 1
	MaxPort = 65535
)

// Range is the ports Lo through Hi, inclusive.
type Range struct{ Lo, Hi int }

// PortSet is a set of ports kept as sorted, disjoint, non-adjacent ranges;
// the zero value is empty. Methods never modify their receiver or argument.
type PortSet struct{ ranges []Range }

// ParsePorts reads a comma-separated list of ports and ranges
// ("30061-30062, 30064"). Overlapping and adjacent entries are merged;
// an empty string is the empty set. Errors name the entry.
func ParsePorts(s string) (PortSet, error) {
	var rs []Range
	if strings.TrimSpace(s) == "" {
		return PortSet{}, nil
	}
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parsePort(strings.TrimSpace(lo))
		if err != nil {
			return PortSet{}, fmt.Errorf("entry %d %q: %w", i+1, part, err)
		}
		b := a
		if isRange {
			if b, err = parsePort(strings.TrimSpace(hi)); err != nil {
				return PortSet{}, fmt.Errorf("entry %d %q: %w", i+1, part, err)
			}
			if b < a {
				return PortSet{}, fmt.Errorf("entry %d %q: range ends before it starts", i+1, part)
			}
		}
		rs = append(rs, Range{a, b})
	}
	return normalize(rs), nil
}

func parsePort(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty port")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q is not a whole number", s)
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < MinPort || n > MaxPort {
		return 0, fmt.Errorf("port %s is outside %d-%d", s, MinPort, MaxPort)
	}
	return n, nil
}

// NewPortSet returns the set of the given ranges (merged as needed).
func NewPortSet(rs ...Range) PortSet { return normalize(slices.Clone(rs)) }

func normalize(rs []Range) PortSet {
	slices.SortFunc(rs, func(a, b Range) int { return a.Lo - b.Lo })
	var out []Range
	for _, r := range rs {
		if n := len(out); n > 0 && r.Lo <= out[n-1].Hi+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return PortSet{ranges: out}
}

// String formats the set the way users write it: "30061-30062, 30064".
func (s PortSet) String() string {
	parts := make([]string, len(s.ranges))
	for i, r := range s.ranges {
		if r.Lo == r.Hi {
			parts[i] = strconv.Itoa(r.Lo)
		} else {
			parts[i] = strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
		}
	}
	return strings.Join(parts, ", ")
}

// Ranges returns a copy of the set's ranges.
func (s PortSet) Ranges() []Range { return slices.Clone(s.ranges) }

// Len is the number of ports in the set.
func (s PortSet) Len() int {
	n := 0
	for _, r := range s.ranges {
		n += r.Hi - r.Lo + 1
	}
	return n
}

// Contains reports whether port is in the set.
func (s PortSet) Contains(port int) bool {
	_, found := slices.BinarySearchFunc(s.ranges, port, func(r Range, p int) int {
		switch {
		case r.Hi < p:
			return -1
		case r.Lo > p:
			return 1
		}
		return 0
	})
	return found
}

// Union returns the ports in s or t.
func (s PortSet) Union(t PortSet) PortSet {
	return normalize(append(slices.Clone(s.ranges), t.ranges...))
}

// Intersect returns the ports in both s and t.
func (s PortSet) Intersect(t PortSet) PortSet {
	var out []Range
	i, j := 0, 0
	for i < len(s.ranges) && j < len(t.ranges) {
		a, b := s.ranges[i], t.ranges[j]
		if lo, hi := max(a.Lo, b.Lo), min(a.Hi, b.Hi); lo <= hi {
			out = append(out, Range{lo, hi})
		}
		if a.Hi < b.Hi {
			i++
		} else {
			j++
		}
	}
	return PortSet{ranges: out}
}

// Subtract returns the ports of s that are not in t.
func (s PortSet) Subtract(t PortSet) PortSet {
	var out []Range
	j := 0
	for _, r := range s.ranges {
		lo := r.Lo
		for j < len(t.ranges) && t.ranges[j].Hi < lo {
			j++
		}
		for k := j; k < len(t.ranges) && t.ranges[k].Lo <= r.Hi; k++ {
			if t.ranges[k].Lo > lo {
				out = append(out, Range{lo, t.ranges[k].Lo - 1})
			}
			lo = max(lo, t.ranges[k].Hi+1)
		}
		if lo <= r.Hi {
			out = append(out, Range{lo, r.Hi})
		}
	}
	return PortSet{ranges: out}
}

// First returns the lowest port of the set, or false when it is empty.
func (s PortSet) First() (int, bool) {
	if len(s.ranges) == 0 {
		return 0, false
	}
	return s.ranges[0].Lo, true
}

// MarshalText writes the set as String does, so JSON and YAML show
// "30061-30062, 30064".
func (s PortSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the set as ParsePorts does.
func (s *PortSet) UnmarshalText(b []byte) error {
	p, err := ParsePorts(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// Empty reports whether the set has no port.
func (s PortSet) Empty() bool { return len(s.ranges) == 0 }

// Equal reports whether s and t hold the same ports.
func (s PortSet) Equal(t PortSet) bool { return slices.Equal(s.ranges, t.ranges) }

// Of returns the set of the given ports.
func Of(ports ...int) PortSet {
	rs := make([]Range, len(ports))
	for i, p := range ports {
		rs[i] = Range{p, p}
	}
	return normalize(rs)
}
