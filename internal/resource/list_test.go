package resource

import (
	"errors"
	"testing"
)

func TestNewPage(t *testing.T) {
	items := []string{"a", "b", "c"}
	p := NewPage(items, 2, func(s string) string { return s })
	if len(p.Items) != 2 || p.Continue == "" {
		t.Fatalf("got %+v, want two items and a token", p)
	}
	key, err := ListOptions{Continue: p.Continue}.After()
	if err != nil || key != "b" {
		t.Fatalf("After() = %q, %v; want b", key, err)
	}
	if last := NewPage(items, 3, func(s string) string { return s }); last.Continue != "" {
		t.Fatalf("last page has token %q", last.Continue)
	}
}

func TestAfterRefusesForeignTokens(t *testing.T) {
	var ve *ValidationError
	for _, tok := range []string{"!!", "YWJj", string(make([]byte, 2000))} {
		if _, err := (ListOptions{Continue: tok}).After(); !errors.As(err, &ve) || ve.Fields[0].Path != "continue" {
			t.Errorf("token %q: got %v, want a validation error at continue", tok, err)
		}
	}
}

func FuzzDecodeContinue(f *testing.F) {
	f.Add(EncodeContinue("red-auth"))
	f.Add("")
	f.Add("YjE6")
	f.Fuzz(func(t *testing.T, tok string) {
		key, err := DecodeContinue(tok)
		if err != nil {
			return
		}
		if again, err := DecodeContinue(EncodeContinue(key)); err != nil || again != key {
			t.Fatalf("key %q does not survive a round trip: %q, %v", key, again, err)
		}
	})
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"a simple label", "red-auth", true},
		{"digits first", "9lives", true},
		{"upper case", "RedAuth", false},
		{"a trailing dash", "red-", false},
		{"an underscore", "red_auth", false},
		{"64 characters", "a123456789012345678901234567890123456789012345678901234567890123", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errs Errors
			errs.CheckName("name", tc.in)
			if got := errs.Err() == nil; got != tc.ok {
				t.Fatalf("CheckName(%q) ok = %v, want %v (%v)", tc.in, got, tc.ok, errs.Err())
			}
		})
	}
}
