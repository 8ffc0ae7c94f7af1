package api

import (
	"strings"
	"testing"
)

func TestParseListening(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in string
		want     []string // raw keys, or nil for an error
	}{
		{"with and without a tenant", "a\x02G\x02m1\x02acme.pay.dev\x01b\x02G\x02m2\x02acme.pay.dev\x01",
			[]string{"a\x02G\x02acme.pay.dev", "b\x02G\x02acme.pay.dev"}},
		{"no tenant names no environment", "a\x02G\x02m1\x01", nil},
		{"two fields", "a\x02G\x01", nil},
		{"a bad namespace", "a\x02G\x02m\x02public\x01", nil},
		{"empty", "", []string{}},
	}
	for _, c := range cases {
		got, err := parseListening(c.in)
		if c.want == nil {
			if err == nil {
				t.Errorf("%s: parsed %v, want an error", c.name, got)
			}
			continue
		}
		raws := []string{}
		for _, l := range got {
			raws = append(raws, l.raw)
		}
		if err != nil || strings.Join(raws, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: %v, %v; want %v", c.name, raws, err, c.want)
		}
	}
}

func FuzzParseListening(f *testing.F) {
	f.Add("a\x02G\x02m1\x02acme.pay.dev\x01")
	f.Add("\x02\x02\x02\x01\x01")
	f.Fuzz(func(t *testing.T, s string) {
		lines, err := parseListening(s)
		if err == nil && len(lines) > 3000 {
			t.Errorf("%d lines parsed, more than the bound", len(lines))
		}
	})
}
