package logincmd

import "testing"

func TestTokenNameIsALabel(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, host, want string }{
		{"a plain host", "dev01", "cli-dev01"},
		{"dots and case become dashes", "Build.Bank.CN", "cli-build-bank-cn"},
		{"long names are cut to 63", "a123456789a123456789a123456789a123456789a123456789a123456789a123456789", "cli-a123456789a123456789a123456789a123456789a123456789a123456789"[:63]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tokenName(tt.host); got != tt.want {
				t.Errorf("tokenName(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}
