package audit

import "testing"

func TestCSVSafe(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain text is kept", "created tenant acme", "created tenant acme"},
		{"a formula is defused", "=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"a leading minus is defused", "-1+1", "'-1+1"},
		{"an at sign is defused", "@SUM(A1)", "'@SUM(A1)"},
		{"empty stays empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := csvSafe(tc.in); got != tc.want {
				t.Fatalf("csvSafe(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
