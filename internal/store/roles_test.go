package store

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// plainRoles must decode exactly as json.Unmarshal does whatever it takes.
func FuzzPlainRoles(f *testing.F) {
	for _, s := range []string{`[]`, `["platform-admin"]`, `["tenant-admin@acme","developer@acme/payments"]`,
		`[""]`, `["a",""]`, `["a\"b"]`, `["a\u0041"]`, `[ "a" ]`, `["a","b"`, `["\x01"]`, "[\"\xff\"]", `null`, `["a"]]`, `["a"],["b"]`, `["a" , "b"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := plainRoles(s)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("plainRoles(%q) = %q, json.Unmarshal: %v", s, got, err)
		}
		if d := cmp.Diff(want, got); d != "" || (want == nil) != (got == nil) {
			t.Fatalf("plainRoles(%q) (-json +plain):\n%s", s, d)
		}
	})
}

func TestPlainRolesTakesWhatInsertAuditWrites(t *testing.T) {
	for _, roles := range [][]string{{}, {"platform-admin"}, {"tenant-admin@acme", "developer@acme/payments"}} {
		b, _ := json.Marshal(roles)
		got, ok := plainRoles(string(b))
		if !ok {
			t.Fatalf("plainRoles(%s) refused", b)
		}
		if d := cmp.Diff(roles, got); d != "" {
			t.Errorf("plainRoles(%s) (-want +got):\n%s", b, d)
		}
	}
}
