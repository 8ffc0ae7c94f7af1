package servercmd

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/sso"
)

// TestSSOConfigIsServedAndCheckedAtStart: the directories and providers of
// --sso-config are the login page's, in the file's order; a bad file stops
// the server at start naming the field.
func TestSSOConfigIsServedAndCheckedAtStart(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "bind-password")
	if err := os.WriteFile(pw, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "sso.yaml")
	writeFile(t, good, `directories:
  - name: corp
    displayName: {zh-CN: 总行, en: Head office}
    url: ldaps://127.0.0.1:1
    bindDN: cn=reader
    bindPasswordFile: `+pw+`
    userBaseDN: dc=bank
    userFilter: (uid={username})
    groups: {mode: memberOf}
oidc:
  - name: idp
    issuer: http://127.0.0.1:1/realms/staff
    clientID: berth
    redirectURL: http://127.0.0.1:8080/api/v1/sso/idp/callback
`)
	cfg := testConfig(t, dir)
	cfg.SSOConfig = good
	addr, err := start(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/api/v1/sso/providers")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got []sso.ProviderInfo
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "corp" || got[0].Kind != "ldap" || got[0].DisplayName["zh-CN"] != "总行" || got[1].Name != "idp" || got[1].Kind != "oidc" {
		t.Fatalf("providers = %+v", got)
	}

	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "directories:\n  - name: corp\n    url: http://nope\n")
	cfg = testConfig(t, t.TempDir())
	cfg.SSOConfig = bad
	if _, err := start(t, cfg); err == nil || !strings.Contains(err.Error(), "directories[0].url") {
		t.Fatalf("start with a bad sso config = %v, want an error at directories[0].url", err)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
