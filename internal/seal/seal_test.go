package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s, err := New(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("kubeconfig"), []byte("cluster/a"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("kubeconfig")) {
		t.Fatal("plaintext visible in sealed value")
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	flipped := append([]byte{}, sealed...)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name   string
		s      *AESGCM
		sealed []byte
		aad    string
		err    error
	}{
		{"the same key and owner open it", s, sealed, "cluster/a", nil},
		{"another owner cannot", s, sealed, "cluster/b", ErrOpen},
		{"another key cannot", other, sealed, "cluster/a", ErrOpen},
		{"a flipped bit is refused", s, flipped, "cluster/a", ErrOpen},
		{"a truncated value is refused", s, sealed[:5], "cluster/a", ErrOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := tc.s.Open(tc.sealed, []byte(tc.aad))
			if !errors.Is(err, tc.err) || (err == nil && string(pt) != "kubeconfig") {
				t.Fatalf("Open = %q, %v; want %v", pt, err, tc.err)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "seal.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != KeySize {
		t.Fatalf("reloaded key differs or has the wrong size: %v", err)
	}
}

// FuzzParseKey: a configured key either parses to exactly KeySize bytes or
// is refused.
func FuzzParseKey(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add(" not a key ")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseKey(s)
		if err == nil && len(key) != KeySize {
			t.Fatalf("ParseKey(%q) returned %d bytes", s, len(key))
		}
	})
}
