package ldap_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/sso/ldap"
	"berth.dev/berth/internal/sso/ldap/slapdtest"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

// server starts the test's own slapd with the seeded tree.
func server(t *testing.T) *slapdtest.Server {
	t.Helper()
	s := slapdtest.Start(t)
	s.Seed()
	return s
}

func adminBindings() []authz.Binding {
	return []authz.Binding{{Role: authz.PlatformAdmin, Scope: authz.Platform}}
}

func config(t *testing.T, s *slapdtest.Server, change func(*sso.DirectoryConfig)) sso.DirectoryConfig {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "bind-password")
	if err := os.WriteFile(pw, []byte("reader-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := sso.DirectoryConfig{Name: "corp", URL: s.URL, StartTLS: true, CAFile: s.CAFile,
		BindDN: "cn=reader," + slapdtest.Suffix, BindPasswordFile: pw,
		UserBaseDN: "ou=people," + slapdtest.Suffix, UserFilter: "(&(objectClass=inetOrgPerson)(uid={username}))",
		DisabledFilter: "(employeeType=disabled)",
		Groups:         sso.GroupsConfig{Mode: sso.GroupsSearch, BaseDN: "ou=groups," + slapdtest.Suffix, Nested: sso.NestedSearch},
		CacheTTL:       "0s"}
	if change != nil {
		change(&c)
	}
	c = c.WithDefaults()
	if err := (sso.Config{Directories: []sso.DirectoryConfig{c}}).Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func directory(t *testing.T, c sso.DirectoryConfig, clk clock.Clock) *ldap.Directory {
	t.Helper()
	if clk == nil {
		clk = clock.Real{}
	}
	d, err := ldap.New(c, clk)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDirectoryAuthenticatesAndReadsNestedGroups(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	id, err := d.Authenticate(t.Context(), "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{slapdtest.GroupDN("devs"), slapdtest.GroupDN("payments"), slapdtest.GroupDN("bank")}
	if id.Username != "alice" || id.Subject != slapdtest.UserDN("alice") || id.Email != "alice@bank.test" || !sameSet(id.Groups, want) {
		t.Fatalf("identity = %+v, want alice with groups %v", id, want)
	}
}

func TestNestingStopsAtMaxDepth(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, func(c *sso.DirectoryConfig) { c.Groups.MaxDepth = 2 }), nil)
	id, err := d.Authenticate(t.Context(), "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{slapdtest.GroupDN("devs"), slapdtest.GroupDN("payments")}; !sameSet(id.Groups, want) {
		t.Fatalf("groups = %v, want %v (two levels)", id.Groups, want)
	}
}

func TestDirectoryRefusals(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	for _, tc := range []struct {
		name, user, password string
	}{
		{"a wrong password", "alice", "bob-password"},
		{"an empty password, which would be an anonymous bind", "alice", ""},
		{"an unknown user", "zed", "zed-password"},
		{"a filter injection matching every user", "*)(uid=*", "alice-password"},
		{"a wildcard user name", "*", "alice-password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Authenticate(t.Context(), tc.user, tc.password)
			if !errors.Is(err, resource.ErrUnauthenticated) {
				t.Fatalf("Authenticate(%q) = %v, want ErrUnauthenticated", tc.user, err)
			}
		})
	}
}

func TestEmptyPasswordIsRefusedWithoutAConnection(t *testing.T) {
	// A directory nobody listens on: any attempt to connect would be
	// ErrUnavailable, so ErrUnauthenticated proves nothing was sent.
	s := server(t)
	c := config(t, s, func(c *sso.DirectoryConfig) { c.URL = "ldap://127.0.0.1:1" })
	d := directory(t, c, nil)
	if _, err := d.Authenticate(t.Context(), "alice", ""); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Fatalf("empty password = %v, want ErrUnauthenticated before any connection", err)
	}
	if _, err := d.Authenticate(t.Context(), "alice", "alice-password"); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("unreachable directory = %v, want ErrUnavailable", err)
	}
}

func TestDisabledAccountIsReportedWithoutBinding(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	id, err := d.Authenticate(t.Context(), "carol", "carol-password")
	if err != nil || !id.Disabled {
		t.Fatalf("carol = %+v, %v; want Disabled", id, err)
	}
}

func TestLDAPSAndAWrongCA(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, func(c *sso.DirectoryConfig) { c.URL, c.StartTLS = s.LDAPS, false }), nil)
	if _, err := d.Authenticate(t.Context(), "bob", "bob-password"); err != nil {
		t.Fatalf("over ldaps: %v", err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	wrongCA := slapdtest.OtherCA(t, other)
	d = directory(t, config(t, s, func(c *sso.DirectoryConfig) { c.CAFile = wrongCA }), nil)
	if _, err := d.Authenticate(t.Context(), "bob", "bob-password"); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("StartTLS with a CA that does not sign the server = %v, want ErrUnavailable", err)
	}
}

func TestGroupsAreCachedForTheirTTL(t *testing.T) {
	s := server(t)
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	d := directory(t, config(t, s, func(c *sso.DirectoryConfig) { c.CacheTTL = "1m" }), clk)
	if id, err := d.Authenticate(t.Context(), "bob", "bob-password"); err != nil || !slices.Contains(id.Groups, slapdtest.GroupDN("ops")) {
		t.Fatalf("bob = %+v, %v; want group ops", id, err)
	}
	s.Modify(slapdtest.GroupDN("ops"), "replace", "member", slapdtest.UserDN("dave"))
	t.Cleanup(func() { s.Modify(slapdtest.GroupDN("ops"), "replace", "member", slapdtest.UserDN("bob")) })
	if id, _ := d.Authenticate(t.Context(), "bob", "bob-password"); !slices.Contains(id.Groups, slapdtest.GroupDN("ops")) {
		t.Fatalf("within the TTL the cached groups count, got %v", id.Groups)
	}
	if _, err := d.Authenticate(t.Context(), "bob", "wrong-password"); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Fatalf("a cached person still binds: wrong password = %v", err)
	}
	clk.Advance(2 * time.Minute)
	if id, _ := d.Authenticate(t.Context(), "bob", "bob-password"); slices.Contains(id.Groups, slapdtest.GroupDN("ops")) {
		t.Fatalf("after the TTL the directory is asked again, got %v", id.Groups)
	}
}

// platformWith returns a platform over a fresh SQLite store with the
// directories, a tenant "bank" with project "pay", and the bindings.
func platformWith(t *testing.T, dirs []sso.PasswordDirectory, bindings ...sso.GroupBinding) *platform.Platform {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	infos := make([]sso.ProviderInfo, len(dirs))
	for i, d := range dirs {
		infos[i] = sso.ProviderInfo{Name: d.Name(), Kind: sso.KindLDAP}
	}
	p, err := platform.New(st, platform.Options{Sealer: sealer, SSO: infos, Directories: dirs,
		Identity: identity.Options{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Bootstrap(t.Context(), "break-glass-password"); err != nil {
		t.Fatal(err)
	}
	admin := platform.Caller{Actor: audit.Actor{User: "admin"}, Bindings: adminBindings()}
	err = p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(t.Context(), tx, admin.Actor, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(t.Context(), tx, admin.Actor, tenancy.Project{Tenant: "bank", Name: "pay"}); err != nil {
			return err
		}
		for _, b := range bindings {
			if _, err := p.CreateGroupBinding(t.Context(), tx, admin, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func roles(t *testing.T, p *platform.Platform, user string) []string {
	t.Helper()
	var out []string
	err := p.DB.View(t.Context(), func(tx platform.Tx) error {
		ms, err := p.Tenancy.MembershipsOf(t.Context(), tx, user)
		for _, m := range ms {
			out = append(out, string(m.Role)+"@"+m.Scope.String())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

var bindings = []sso.GroupBinding{
	{Name: "bank-viewers", Provider: "corp", Group: slapdtest.GroupDN("bank"), Role: tenancy.Viewer, Scope: tenancy.Scope{Tenant: "bank"}},
	// The directory spells DNs its own way: case does not matter.
	{Name: "pay-devs", Provider: "corp", Group: "CN=Payments,OU=Groups,DC=berth,DC=test", Role: tenancy.Developer, Scope: tenancy.Scope{Tenant: "bank", Project: "pay"}},
	{Name: "ops", Provider: "corp", Group: slapdtest.GroupDN("ops"), Role: tenancy.Operator, Scope: tenancy.Scope{Tenant: "bank"}},
}

func TestLoginProvisionsTheUserWithTheRolesOfItsNestedGroups(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	p := platformWith(t, []sso.PasswordDirectory{d}, bindings...)
	u, err := p.DirectoryLogin(t.Context(), audit.Actor{User: "alice"}, "corp", "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || u.Email != "alice@bank.test" {
		t.Fatalf("user = %+v", u)
	}
	if got, want := roles(t, p, "alice"), []string{"developer@project bank/pay", "viewer@tenant bank"}; !slices.Equal(got, want) {
		t.Fatalf("alice's roles = %v, want %v", got, want)
	}
	wantAudit(t, p, "user.provision", "users/alice")
	wantAudit(t, p, "user.sync-groups", "users/alice")
}

func TestLeavingAGroupRemovesItsRoleAtTheNextLogin(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	p := platformWith(t, []sso.PasswordDirectory{d}, bindings...)
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "", "bob", "bob-password"); err != nil {
		t.Fatal(err)
	}
	if got := roles(t, p, "bob"); !slices.Equal(got, []string{"operator@tenant bank"}) {
		t.Fatalf("bob's roles = %v", got)
	}
	// A role granted by hand is the administrator's: sync leaves it.
	err := p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := p.Tenancy.AddMember(t.Context(), tx, audit.System, tenancy.Member{User: "bob", Role: tenancy.Auditor, Scope: tenancy.Scope{Tenant: "bank"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Modify(slapdtest.GroupDN("ops"), "replace", "member", slapdtest.UserDN("dave"))
	t.Cleanup(func() { s.Modify(slapdtest.GroupDN("ops"), "replace", "member", slapdtest.UserDN("bob")) })
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "", "bob", "bob-password"); err != nil {
		t.Fatal(err)
	}
	if got := roles(t, p, "bob"); !slices.Equal(got, []string{"auditor@tenant bank"}) {
		t.Fatalf("bob's roles after leaving ops = %v, want only the one granted by hand", got)
	}
	// dave joined ops: a refresh, without a login, grants nothing to a
	// person never provisioned, and revokes from bob what he lost.
	if n, err := p.RefreshDirectoryUsers(t.Context()); err != nil || n != 1 {
		t.Fatalf("refresh = %d, %v; want bob refreshed", n, err)
	}
}

func TestRefreshRevokesWithoutALogin(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	p := platformWith(t, []sso.PasswordDirectory{d}, bindings...)
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "bob", "bob-password"); err != nil {
		t.Fatal(err)
	}
	s.Modify(slapdtest.GroupDN("ops"), "replace", "member", slapdtest.UserDN("dave"))
	t.Cleanup(func() { s.Modify(slapdtest.GroupDN("ops"), "replace", "member", slapdtest.UserDN("bob")) })
	if _, err := p.RefreshDirectoryUsers(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := roles(t, p, "bob"); len(got) != 0 {
		t.Fatalf("bob's roles after a refresh = %v, want none", got)
	}
}

func TestDisabledInTheDirectoryIsDisabledInBerth(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	p := platformWith(t, []sso.PasswordDirectory{d}, bindings...)
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "carol", "carol-password"); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Fatalf("a disabled account = %v, want ErrUnauthenticated", err)
	}
	// dave logs in, is then disabled in the directory: his Berth user is
	// disabled at the next attempt, and enabled again when the directory
	// enables him.
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "dave", "dave-password"); err != nil {
		t.Fatal(err)
	}
	s.Modify(slapdtest.UserDN("dave"), "replace", "employeeType", "disabled")
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "dave", "dave-password"); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Fatalf("dave disabled = %v, want ErrUnauthenticated", err)
	}
	if u := user(t, p, "dave"); !u.Disabled {
		t.Fatalf("dave = %+v, want disabled in Berth", u)
	}
	s.Modify(slapdtest.UserDN("dave"), "delete", "employeeType")
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "dave", "dave-password"); err != nil {
		t.Fatalf("dave enabled again: %v", err)
	}
}

func TestBreakGlassAdminStaysLocal(t *testing.T) {
	s := server(t)
	// A directory person named admin must not take over the local admin.
	s.Add("uid=admin,ou=people,"+slapdtest.Suffix, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"admin"},
		"cn": {"Admin"}, "sn": {"Admin"}, "userPassword": {"directory-admin"}})
	d := directory(t, config(t, s, nil), nil)
	p := platformWith(t, []sso.PasswordDirectory{d}, bindings...)
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "admin", "directory-admin"); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Fatalf("directory admin = %v, want refused: admin is local", err)
	}
	// With the directory unreachable, the local admin still logs in.
	down := directory(t, config(t, s, func(c *sso.DirectoryConfig) { c.URL = "ldap://127.0.0.1:1" }), nil)
	p = platformWith(t, []sso.PasswordDirectory{down})
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "", "alice", "alice-password"); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("login through an unreachable directory = %v, want ErrUnavailable", err)
	}
	err := p.DB.View(t.Context(), func(tx platform.Tx) error {
		_, err := p.Identity.Authenticate(t.Context(), tx, "admin", "break-glass-password")
		return err
	})
	if err != nil {
		t.Fatalf("local admin with the directory down: %v", err)
	}
}

func user(t *testing.T, p *platform.Platform, name string) identity.User {
	t.Helper()
	var u identity.User
	err := p.DB.View(t.Context(), func(tx platform.Tx) (err error) {
		u, err = p.Identity.GetUser(t.Context(), tx, name)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func wantAudit(t *testing.T, p *platform.Platform, action, target string) {
	t.Helper()
	var found bool
	err := p.DB.View(t.Context(), func(tx platform.Tx) error {
		recs, err := tx.ListAudit(t.Context(), audit.Query{Limit: 500})
		found = slices.ContainsFunc(recs, func(r audit.Record) bool { return r.Action == action && r.Target == target })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no audit record %s on %s", action, target)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestAUserCreatedWithoutAPasswordIsAdoptedOnce(t *testing.T) {
	s := server(t)
	d := directory(t, config(t, s, nil), nil)
	p := platformWith(t, []sso.PasswordDirectory{d}, bindings...)
	err := p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := p.Identity.CreateUser(t.Context(), tx, audit.System, identity.User{Name: "bob"}, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "bob", "bob-password"); err != nil {
		t.Fatalf("bob, created for a directory: %v", err)
	}
	wantAudit(t, p, "user.link", "users/bob")
	if got := roles(t, p, "bob"); !slices.Equal(got, []string{"operator@tenant bank"}) {
		t.Fatalf("bob's roles = %v", got)
	}
	// Once linked, another entry answering to the same name is not bob.
	s.Add("uid=bob,ou=groups,"+slapdtest.Suffix, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"bob"},
		"cn": {"Impostor"}, "sn": {"Impostor"}, "userPassword": {"impostor-password"}})
	cfg := config(t, s, func(c *sso.DirectoryConfig) { c.UserBaseDN = "ou=groups," + slapdtest.Suffix })
	p.Directories = []sso.PasswordDirectory{directory(t, cfg, nil)}
	if _, err := p.DirectoryLogin(t.Context(), audit.Actor{}, "corp", "bob", "impostor-password"); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Fatalf("another entry named bob = %v, want ErrUnauthenticated", err)
	}
}
