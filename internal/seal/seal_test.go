package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateKey = created %v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created || !bytes.Equal(k1, k2) || len(k1) != KeySize {
		t.Fatalf("reloaded key differs, was created again or has the wrong size: %v", err)
	}
}

func TestLoadKeyRefusesAFileOthersCanRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	if _, err := CreateKey(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKey(path)
	if err == nil || !strings.Contains(err.Error(), "accessible by group or others (mode 0644): run chmod 600 "+path) {
		t.Fatalf("LoadKey of a 0644 file: %v", err)
	}
	if _, _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("LoadOrCreateKey accepted a 0644 key file")
	}
}

// TestKeyIDs: a value sealed under one key names that key's ID when
// another key tries to open it, and values sealed before key IDs open.
func TestKeyIDs(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{7}, KeySize), bytes.Repeat([]byte{8}, KeySize)
	s1, _ := New(k1)
	s2, _ := New(k2)
	// The ID is SHA-256("berth seal key id\x00" || key)[:8], computed by hand:
	//   (printf 'berth seal key id\0'; head -c 32 /dev/zero | tr '\0' '\7') | sha256sum | cut -c1-16
	if got := s1.KeyID(); got != wantKeyID7 {
		t.Errorf("KeyID = %s, want %s", got, wantKeyID7)
	}
	sealed, err := s1.Seal([]byte("kubeconfig"), []byte("cluster/a"))
	if err != nil {
		t.Fatal(err)
	}
	if got := SealedKeyID(sealed); got != s1.KeyID() {
		t.Errorf("SealedKeyID = %q, want %q", got, s1.KeyID())
	}
	_, err = s2.Open(sealed, []byte("cluster/a"))
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Want != s1.KeyID() || ke.Have != s2.KeyID() || !errors.Is(err, ErrOpen) {
		t.Fatalf("Open under another key = %v, want a KeyError naming %s", err, s1.KeyID())
	}
	// Version 1, as sealed before key IDs: version byte, nonce, ciphertext.
	nonce := make([]byte, s1.aead.NonceSize())
	v1 := s1.aead.Seal(append([]byte{version1}, nonce...), nonce, []byte("old"), []byte("cluster/a"))
	if pt, err := s1.Open(v1, []byte("cluster/a")); err != nil || string(pt) != "old" {
		t.Fatalf("Open of a version 1 value = %q, %v", pt, err)
	}
	if SealedKeyID(v1) != "" {
		t.Error("a version 1 value names a key")
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

// wantKeyID7 is the ID of the key of 32 bytes 0x07, computed outside Berth.
const wantKeyID7 = "3107f60d91623414"
