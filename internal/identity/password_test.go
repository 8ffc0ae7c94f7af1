package identity

import (
	"strings"
	"testing"
)

var cheap = Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id", h)
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"the right password matches", "correct horse battery", true},
		{"a wrong password does not", "correct horse battery!", false},
		{"an empty password does not", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := CheckPassword(h, tc.password)
			if err != nil || ok != tc.want {
				t.Fatalf("CheckPassword = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	h2, _ := HashPassword("correct horse battery", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestParseHashRefusesHostileParameters(t *testing.T) {
	for _, h := range []string{
		"",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1000,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		if _, _, _, err := ParseHash(h); err == nil {
			t.Errorf("ParseHash(%q) accepted", h)
		}
	}
}

// FuzzParseHash: any stored string is either refused or yields parameters
// within the bounds that keep checking it cheap enough.
func FuzzParseHash(f *testing.F) {
	h, _ := HashPassword("seed", cheap)
	f.Add(h)
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParseHash(s)
		if err != nil {
			return
		}
		if p.Memory > maxArgon2Memory || p.Time > 16 || p.Threads == 0 || len(salt) < 8 || len(key) < 16 {
			t.Fatalf("ParseHash(%q) accepted %+v", s, p)
		}
	})
}
