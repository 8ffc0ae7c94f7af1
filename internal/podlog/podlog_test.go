package podlog

import (
	"bufio"
	"errors"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/resource"
)

func TestCheckNamesTheFieldAtFault(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		q     Query
		paths []string
	}{
		{"a plain search", Query{Grep: "ERROR", Tail: 100}, nil},
		{"tail and limit out of bounds", Query{Tail: MaxTail + 1, Limit: -1}, []string{"tail", "limit"}},
		{"until before since", Query{Since: at, Until: at.Add(-time.Second)}, []string{"until"}},
		{"a followed log has no end", Query{Follow: true, Until: at}, []string{"until"}},
		{"a bad regular expression", Query{Grep: "a(b", Regexp: true}, []string{"grep"}},
		{"regexp without a pattern", Query{Regexp: true}, []string{"grep"}},
		{"an overlong pattern", Query{Grep: strings.Repeat("x", MaxGrep+1)}, []string{"grep"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(tc.q)
			var ve *resource.ValidationError
			var got []string
			if errors.As(err, &ve) {
				for _, f := range ve.Fields {
					got = append(got, f.Path)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tc.paths, ",") {
				t.Errorf("fields %v, want %v (%v)", got, tc.paths, err)
			}
		})
	}
}

func TestMatchers(t *testing.T) {
	for _, tc := range []struct {
		q    Query
		text string
		want bool
	}{
		{Query{Grep: "card 4111"}, "ERROR card 4111 refused", true},
		{Query{Grep: "Card"}, "ERROR card 4111 refused", false},
		{Query{Grep: "Card", IgnoreCase: true}, "ERROR card 4111 refused", true},
		{Query{Grep: "a.b", IgnoreCase: true}, "axb", false}, // a text, not a pattern
		{Query{Grep: `\d{4} refused$`, Regexp: true}, "ERROR card 4111 refused", true},
		{Query{}, "anything", true},
	} {
		m, err := Check(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := m(tc.text); got != tc.want {
			t.Errorf("%+v on %q = %v, want %v", tc.q, tc.text, got, tc.want)
		}
	}
}

func TestReadLineCutsLongLinesAndParseReadsTheTime(t *testing.T) {
	long := strings.Repeat("x", MaxLine+100)
	r := bufio.NewReaderSize(strings.NewReader("2026-12-07T09:00:01.5Z "+long+"\nno time here\n"), 64)
	first, err := readLine(r)
	if err != nil || len(first) != MaxLine {
		t.Fatalf("first line: %d bytes, %v; want %d", len(first), err, MaxLine)
	}
	l := parse(first, Pod{Name: "web-1", Version: "v2"}, "app")
	if !l.Time.Equal(time.Date(2026, 12, 7, 9, 0, 1, 5e8, time.UTC)) || !strings.HasPrefix(l.Text, "xxx") || l.Pod != "web-1" || l.Version != "v2" {
		t.Errorf("parsed %+v", l)
	}
	second, _ := readLine(r)
	if l := parse(second, Pod{}, "app"); !l.Time.IsZero() || l.Text != "no time here" {
		t.Errorf("a line without a time: %+v", l)
	}
}
