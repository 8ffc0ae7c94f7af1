package graycmd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/gray"
)

func TestParseStep(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want gray.Step
		bad  bool
	}{
		{"tellers=T900,T901", gray.Step{Tellers: []string{"T900", "T901"}}, false},
		{"tellers=Zhang Wei", gray.Step{Tellers: []string{"Zhang Wei"}}, false},
		{"regions=north; weight=10%", gray.Step{Regions: []string{"north"}, Weight: 10}, false},
		{"branches=0101;branches=0102", gray.Step{Branches: []string{"0101", "0102"}}, false},
		{"weight=ten", gray.Step{}, true},
		{"desks=D1", gray.Step{}, true},
		{"tellers", gray.Step{}, true},
		{"", gray.Step{}, true},
	} {
		got, err := ParseStep(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseStep(%q): error %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if diff := cmp.Diff(tc.want, got); !tc.bad && diff != "" {
			t.Errorf("ParseStep(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
