// Package seal encrypts secrets at rest (cluster kubeconfigs) with
// AES-256-GCM under a key kept outside the database: a key file of mode
// 0600 named in configuration (sealKeyFile), by default seal.key in the
// server's data directory.
//
// Every key has a key ID derived from it, and every sealed value names
// the key ID that sealed it, so a server started with another key than the
// one the data needs says which key it needs; `berth admin rotate-seal-key`
// re-seals everything under a new key.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"berth.dev/berth/internal/keyfile"
)

// KeySize is the key length in bytes (AES-256).
const KeySize = 32

// Sealed forms: version 1 (before key IDs) is the version byte, a 12-byte
// random nonce and the ciphertext with its tag; version 2 puts the 8-byte
// key ID after the version byte, and covers it with the tag.
const (
	version1 byte = 1
	version2 byte = 2
	idSize        = 8
)

// AESGCM seals with AES-256-GCM.
type AESGCM struct {
	aead cipher.AEAD
	id   [idSize]byte
}

// New returns an AESGCM for a 32-byte key; it does not keep key.
func New(key []byte) (*AESGCM, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal key: want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	s := &AESGCM{aead: aead}
	copy(s.id[:], keyID(key))
	return s, nil
}

// keyID is the first 8 bytes of SHA-256("berth seal key id\x00" || key):
// it names the key without revealing it.
func keyID(key []byte) []byte {
	sum := sha256.Sum256(append([]byte("berth seal key id\x00"), key...))
	return sum[:idSize]
}

// KeyID names the key: 16 hex digits.
func (s *AESGCM) KeyID() string { return hex.EncodeToString(s.id[:]) }

// Seal encrypts plaintext bound to aad, naming the key's ID.
func (s *AESGCM) Seal(plaintext, aad []byte) ([]byte, error) {
	head := 1 + idSize + s.aead.NonceSize()
	out := make([]byte, head, head+len(plaintext)+s.aead.Overhead())
	out[0] = version2
	copy(out[1:], s.id[:])
	if _, err := rand.Read(out[1+idSize:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return s.aead.Seal(out, out[1+idSize:], plaintext, append(append([]byte{}, out[:1+idSize]...), aad...)), nil
}

// ErrOpen means a sealed value was corrupted, sealed under another key, or
// bound to other additional data.
var ErrOpen = errors.New("cannot open sealed value")

// KeyError is ErrOpen for a value sealed under another key than the one
// configured: Want names the key it needs.
type KeyError struct {
	Want, Have string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("sealed under key ID %s, but the configured seal key has ID %s", e.Want, e.Have)
}

// Is makes a KeyError match ErrOpen.
func (e *KeyError) Is(target error) bool { return target == ErrOpen }

// SealedKeyID returns the ID of the key that sealed a value, or "" for a
// value sealed before key IDs (or not sealed at all).
func SealedKeyID(sealed []byte) string {
	if len(sealed) < 1+idSize || sealed[0] != version2 {
		return ""
	}
	return hex.EncodeToString(sealed[1 : 1+idSize])
}

// Open decrypts what Seal made with the same aad. A value sealed under
// another key is a *KeyError.
func (s *AESGCM) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) > 0 && sealed[0] == version1 {
		if len(sealed) < 1+n+s.aead.Overhead() {
			return nil, ErrOpen
		}
		pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
		if err != nil {
			return nil, ErrOpen
		}
		return pt, nil
	}
	head := 1 + idSize + n
	if len(sealed) < head+s.aead.Overhead() || sealed[0] != version2 {
		return nil, ErrOpen
	}
	if id := sealed[1 : 1+idSize]; string(id) != string(s.id[:]) {
		return nil, &KeyError{Want: hex.EncodeToString(id), Have: s.KeyID()}
	}
	pt, err := s.aead.Open(nil, sealed[1+idSize:head], sealed[head:], append(append([]byte{}, sealed[:1+idSize]...), aad...))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// LoadKey reads the base64 key file at path, refusing one that group or
// others can access (root's file may be readable by its group:
// internal/keyfile). A missing file is an error wrapping fs.ErrNotExist.
func LoadKey(path string) ([]byte, error) {
	data, err := keyfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("seal key file %s: %w", path, err)
	}
	return key, nil
}

// LoadOrCreateKey is LoadKey, but creates the file (mode 0600,
// directories 0700) with a random key when it does not exist; created
// says which happened.
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	key, err = LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = CreateKey(path)
	return key, err == nil, err
}

// ParseKey decodes a base64 (standard encoding) 32-byte key.
func ParseKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("seal key: want %d bytes in base64", KeySize)
	}
	return key, nil
}

// CreateKey writes a new random key to a new file at path (mode 0600);
// it never replaces an existing file.
func CreateKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate seal key: %w", err)
	}
	if err := keyfile.Create(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n")); err != nil {
		return nil, fmt.Errorf("seal key: %w", err)
	}
	return key, nil
}
