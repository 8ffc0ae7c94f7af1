package sso_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
)

func TestGoodConfigTakesDefaults(t *testing.T) {
	data, err := os.ReadFile("testdata/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := sso.ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Directories[1]
	if d.UsernameAttribute != "uid" || d.Groups.Filter != "(member={dn})" || d.Groups.MaxGroups != sso.DefaultMaxGroups || d.Timeout != "10s" {
		t.Fatalf("defaults not taken: %+v", d)
	}
	if o := c.OIDC[0]; o.Audience != "berth" || o.GroupsClaim != "groups" || o.UsernameClaim != "preferred_username" {
		t.Fatalf("oidc defaults not taken: %+v", o)
	}
	infos := c.Infos()
	if len(infos) != 3 || infos[0].Kind != sso.KindLDAP || infos[2].Kind != sso.KindOIDC || infos[1].DisplayName["en"] != "branch-ldap" {
		t.Fatalf("infos = %+v", infos)
	}
}

func TestBadConfigNamesEveryField(t *testing.T) {
	data, err := os.ReadFile("testdata/plaintext.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sso.ParseConfig(data)
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want field errors", err)
	}
	var paths []string
	for _, f := range ve.Fields {
		paths = append(paths, f.Path)
	}
	for _, want := range []string{"directories[0].startTLS", "directories[0].userFilter", "directories[0].groups.baseDN",
		"oidc[0].name", "oidc[0].issuer", "oidc[0].clientID", "oidc[0].scopes"} {
		if !slices.Contains(paths, want) {
			t.Errorf("no error at %s; got %v", want, paths)
		}
	}
}

func TestUnknownConfigFieldIsAnError(t *testing.T) {
	data, err := os.ReadFile("testdata/unknown-field.bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sso.ParseConfig(data); err == nil {
		t.Fatal("an unknown field (bindPassword) was accepted")
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"testdata/full.good.yaml", "testdata/plaintext.bad.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := sso.ParseConfig(data)
		if err == nil && c.Validate() != nil {
			t.Fatal("ParseConfig accepted a configuration Validate refuses")
		}
	})
}

func TestWantedMatchesGroups(t *testing.T) {
	pay := tenancy.Scope{Tenant: "bank", Project: "pay"}
	bs := []sso.GroupBinding{
		{Name: "a", Group: "CN=Devs,OU=Groups,DC=bank", Role: tenancy.Developer, Scope: pay},
		{Name: "b", Group: "cn=devs-2,ou=groups,dc=bank", Role: tenancy.Developer, Scope: pay},
		{Name: "c", Group: "cn=ops,ou=groups,dc=bank", Role: tenancy.Operator, Scope: pay},
	}
	for _, tc := range []struct {
		name   string
		kind   string
		groups []string
		want   []string
	}{
		{"an LDAP DN matches without regard to case and spaces after commas", sso.KindLDAP, []string{"cn=devs, ou=groups, dc=bank"}, []string{"a"}},
		{"two bindings granting the same role at the same scope grant it once", sso.KindLDAP, []string{"cn=devs,ou=groups,dc=bank", "cn=devs-2,ou=groups,dc=bank"}, []string{"a"}},
		{"an OIDC claim value matches exactly", sso.KindOIDC, []string{"cn=devs,ou=groups,dc=bank"}, nil},
		{"no groups, no roles", sso.KindLDAP, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, g := range sso.Wanted(tc.kind, bs, tc.groups) {
				got = append(got, g.Binding)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Wanted = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCLILoopbackAddressesAreOnlyLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8085/callback", true},
		{"http://[::1]:8085/", true},
		{"http://localhost:8085/cb", true},
		{"http://127.0.0.2:8085/cb", true}, // 127.0.0.0/8 is loopback
		{"https://127.0.0.1:8085/cb", false},
		{"http://10.0.0.1:8085/cb", false},
		{"http://evil.example:8085/cb", false},
		{"http://127.0.0.1.evil.example:8085/cb", false},
		{"http://localhost.evil.example:8085/cb", false},
		{"http://127.0.0.1/cb", false},
		{"http://127.0.0.1:0/cb", false},
		{"http://user@127.0.0.1:8085/cb", false},
		{"http://127.0.0.1:8085/cb?next=http://evil.example", false},
		{"http://127.0.0.1:8085/cb#x", false},
		{"//127.0.0.1:8085/cb", false},
		{"", false},
	} {
		if err := sso.CheckLoopback(tc.url); (err == nil) != tc.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestChallengeIsS256OfTheVerifier(t *testing.T) {
	// RFC 7636 appendix B.
	if got := sso.Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("Challenge = %q", got)
	}
	if err := sso.CheckChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"); err != nil {
		t.Fatal(err)
	}
	if err := sso.CheckChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw"); err == nil {
		t.Fatal("a short challenge accepted")
	}
}
