package netasset

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAndFormatPorts(t *testing.T) {
	tests := []struct {
		name, in, want string
		wantLen        int
	}{
		{"the seed's example reads back as written", "30061-30062, 30064, 30312-30332, 30334-30400, 33336",
			"30061-30062, 30064, 30312-30332, 30334-30400, 33336", 2 + 1 + 21 + 67 + 1},
		{"unordered, overlapping and adjacent entries merge", "30064,30061-30062, 30063, 30062", "30061-30064", 4},
		{"a one-port range is written as a port", "30000-30000", "30000", 1},
		{"spaces are optional", " 1-3 ,5 ", "1-3, 5", 4},
		{"the empty string is the empty set", "", "", 0},
		{"the whole NodePort range", "30000-32767", "30000-32767", 2768},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParsePorts(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if s.Len() != tt.wantLen {
				t.Errorf("Len() = %d, want %d", s.Len(), tt.wantLen)
			}
		})
	}
}

func TestParsePortsNamesTheBadEntry(t *testing.T) {
	tests := []struct{ in, want string }{
		{"30061-30062, 3006x", `entry 2 "3006x": port "3006x" is not a whole number`},
		{"30070-30060", `entry 1 "30070-30060": range ends before it starts`},
		{"0", `entry 1 "0": port 0 is outside 1-65535`},
		{"65536", `entry 1 "65536": port 65536 is outside 1-65535`},
		{"30000,,30002", `entry 2 "": empty port`},
		{"-5", `entry 1 "-5": empty port`},
		{"+80", `entry 1 "+80": port "+80" is not a whole number`},
	}
	for _, tt := range tests {
		_, err := ParsePorts(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParsePorts(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestSetAlgebraOnThePoolsOfTheSeed(t *testing.T) {
	pool := mustPorts(t, "30000-30920")
	allocated := mustPorts(t, "30000-30060, 30063, 30065-30311, 30333, 30401-30920")
	free := pool.Subtract(allocated)
	if got, want := free.String(), "30061-30062, 30064, 30312-30332, 30334-30400"; got != want {
		t.Errorf("free = %s, want %s", got, want)
	}
	if got := allocated.Intersect(free); got.Len() != 0 {
		t.Errorf("allocated ∩ free = %s, want empty", got)
	}
	if got := allocated.Union(free); got.String() != pool.String() {
		t.Errorf("allocated ∪ free = %s, want the pool %s", got, pool)
	}
	if p, ok := free.First(); !ok || p != 30061 {
		t.Errorf("first free = %d %v, want 30061", p, ok)
	}
	if !free.Contains(30064) || free.Contains(30063) || free.Contains(29999) || free.Contains(30401) {
		t.Error("Contains disagrees with the free list")
	}
}

func mustPorts(t *testing.T, s string) PortSet {
	t.Helper()
	p, err := ParsePorts(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bitmap is an independent model of a port set for the fuzz test.
type bitmap map[int]bool

func bits(s PortSet) bitmap {
	b := bitmap{}
	for _, r := range s.Ranges() {
		for p := r.Lo; p <= r.Hi; p++ {
			b[p] = true
		}
	}
	return b
}

// FuzzPortSet checks parsing, formatting and the set operations against a
// bitmap: formatting is canonical (parse(format(x)) == x), and union,
// intersection and difference agree with the model port by port.
func FuzzPortSet(f *testing.F) {
	for _, s := range []string{"30061-30062, 30064", "1-3,5", "", "65535", "10-20,15-30", "30000-30920", "7,6,5"} {
		f.Add(s, "15-25, 40")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		x, errX := ParsePorts(a)
		y, errY := ParsePorts(b)
		if errX != nil || errY != nil {
			return
		}
		if x.Len() > 5000 || y.Len() > 5000 {
			return // keep the bitmap model small
		}
		again, err := ParsePorts(x.String())
		if err != nil || again.String() != x.String() || !cmp.Equal(again.Ranges(), x.Ranges()) {
			t.Fatalf("format %q does not read back: %v", x.String(), err)
		}
		for i, r := range x.Ranges() {
			if r.Lo > r.Hi || (i > 0 && x.Ranges()[i-1].Hi+1 >= r.Lo) {
				t.Fatalf("ranges not sorted, disjoint and apart: %v", x.Ranges())
			}
		}
		bx, by := bits(x), bits(y)
		check := func(name string, got PortSet, in func(p int) bool) {
			model := 0
			for p := range bx {
				if in(p) {
					model++
				}
			}
			for p := range by {
				if !bx[p] && in(p) {
					model++
				}
			}
			if got.Len() != model {
				t.Fatalf("%s: %s has %d ports, model %d", name, got, got.Len(), model)
			}
			for p := range bits(got) {
				if !in(p) {
					t.Fatalf("%s: %s holds %d", name, got, p)
				}
			}
		}
		check("union", x.Union(y), func(p int) bool { return bx[p] || by[p] })
		check("intersect", x.Intersect(y), func(p int) bool { return bx[p] && by[p] })
		check("subtract", x.Subtract(y), func(p int) bool { return bx[p] && !by[p] })
		for p := range bx {
			if !x.Contains(p) {
				t.Fatalf("%s does not contain %d", x, p)
			}
		}
		txt, _ := x.MarshalText()
		var back PortSet
		if err := back.UnmarshalText(txt); err != nil || !back.Equal(x) {
			t.Fatalf("text %q does not read back: %v", txt, err)
		}
		if first, ok := x.First(); ok == x.Empty() || (ok && (!x.Contains(first) || x.Contains(first-1))) {
			t.Fatalf("first of %s = %d, %v", x, first, ok)
		}
		if strings.Contains(x.String(), "--") {
			t.Fatalf("malformed %q", x)
		}
	})
}
