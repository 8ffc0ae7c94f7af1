package i18n

import "testing"

func TestPick(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   Lang
	}{
		{"no header means English", "", EN},
		{"a Chinese browser gets Chinese", "zh-CN,zh;q=0.9,en;q=0.8", ZhCN},
		{"plain zh gets Chinese", "zh", ZhCN},
		{"English preferred over Chinese gets English", "en-US,zh-CN;q=0.5", EN},
		{"q-values decide over order", "en;q=0.3, zh-CN;q=0.9", ZhCN},
		{"an unsupported language falls back to English", "fr-FR", EN},
		{"a malformed q-value is ignored", "zh-CN;q=abc", EN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Pick(tt.header); got != tt.want {
				t.Errorf("Pick(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestEveryCodeHasBothLanguages(t *testing.T) {
	t.Parallel()
	for _, c := range Codes() {
		for _, l := range []Lang{EN, ZhCN} {
			if catalogue[c][l] == "" {
				t.Errorf("code %s has no %s message", c, l)
			}
		}
	}
}

func FuzzPick(f *testing.F) {
	f.Add("zh-CN,zh;q=0.9,en;q=0.8")
	f.Add(";;q=,")
	f.Fuzz(func(t *testing.T, h string) {
		if l := Pick(h); l != EN && l != ZhCN {
			t.Fatalf("Pick(%q) = %q", h, l)
		}
	})
}
