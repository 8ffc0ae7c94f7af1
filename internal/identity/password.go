package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultArgon2 follows RFC 9106's second recommended option (64 MiB, t=3,
// p=4), the cost for interactive logins.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4, KeyLen: 32, SaltLen: 16}

// HashPassword returns the PHC string of password under p with a random
// salt. It does not wait for a slot: the server hashes through [Hasher].
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	return encodeHash(p, salt, argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)), nil
}

func encodeHash(p Argon2Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// ErrHashFormat means a stored password hash is not a PHC argon2id string
// this package can check.
var ErrHashFormat = errors.New("unsupported password hash format")

// maxArgon2Memory bounds the memory a stored hash may demand (1 GiB), so a
// corrupted or hostile hash cannot exhaust the server.
const maxArgon2Memory = 1 << 20

// ParseHash splits a PHC argon2id string into its parameters, salt and key.
func ParseHash(encoded string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(encoded, "$")
	if len(encoded) > 512 || len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrHashFormat
	}
	var m, t, th uint64
	for i, kv := range strings.Split(parts[3], ",") {
		name, val, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(val, 10, 32)
		if !ok || err != nil || i > 2 || name != [...]string{"m", "t", "p"}[i] {
			return p, nil, nil, ErrHashFormat
		}
		*[...]*uint64{&m, &t, &th}[i] = n
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || m < 8 || m > maxArgon2Memory || t < 1 || t > 16 || th < 1 || th > 255 ||
		len(salt) < 8 || len(key) < 16 || len(key) > 64 || m < 8*th {
		return p, nil, nil, ErrHashFormat
	}
	p = Argon2Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), KeyLen: uint32(len(key)), SaltLen: uint32(len(salt))}
	return p, salt, key, nil
}

// CheckPassword reports whether password matches the PHC hash encoded,
// comparing in constant time.
func CheckPassword(encoded, password string) (bool, error) {
	p, salt, key, err := ParseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}
