package servercmd

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/logincmd"
	"berth.dev/berth/internal/client"
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

// TestLoginWithSSOThroughTheBrowser: `berth login --sso` sends the
// browser through a real OIDC provider (mockoidc) and back to the CLI's
// loopback address, and stores an API token of the user the provider
// vouched for; the browser here is an HTTP client with a cookie jar.
func TestLoginWithSSOThroughTheBrowser(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	m.QueueUser(&mockoidc.MockUser{Subject: "u-42", Email: "li.lei@bank.example", PreferredUsername: "li.lei", Groups: []string{"payments-devs"}})

	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := "http://" + ln.Addr().String()
	secret := filepath.Join(dir, "client-secret")
	writeFile(t, secret, m.ClientSecret)
	conf := filepath.Join(dir, "sso.yaml")
	writeFile(t, conf, "oidc:\n  - name: idp\n    issuer: "+m.Issuer()+"\n    clientID: "+m.ClientID+
		"\n    clientSecretFile: "+secret+"\n    redirectURL: "+server+"/api/v1/sso/idp/callback\n")
	cfg := testConfig(t, dir)
	cfg.SSOConfig = conf
	if _, err := startOn(t, cfg, ln); err != nil {
		t.Fatal(err)
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	var visited []string
	browser.CheckRedirect = func(r *http.Request, _ []*http.Request) error {
		visited = append(visited, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
		return nil
	}
	var page string
	cliConfig := filepath.Join(dir, "berth-cli.yaml")
	var stdout, stderr strings.Builder
	env := cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return map[string]string{"BERTH_CONFIG": cliConfig}[k] },
		OpenURL: func(ctx context.Context, u string) error {
			req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
			if err != nil {
				return err
			}
			res, err := browser.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			page = string(b)
			return nil
		}}
	cmd := logincmd.New(env)
	cmd.SetArgs([]string{"--server", server, "--sso", "idp"})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // not the CLI's five minutes when the code never comes
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("berth login --sso: %v\nstderr: %s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "as li.lei") {
		t.Fatalf("stdout = %q", stdout.String())
	}
	if !strings.Contains(page, "Signed in") || !strings.Contains(page, "已登录") {
		t.Errorf("the browser's last page = %q", page)
	}
	// The browser went to the provider, back to Berth, then to the CLI.
	if len(visited) != 3 || !strings.HasPrefix(visited[0], m.Issuer()) || visited[1] != server+"/api/v1/sso/idp/callback" ||
		!strings.HasPrefix(visited[2], "http://127.0.0.1:") || !strings.HasSuffix(visited[2], "/callback") {
		t.Errorf("redirects = %v", visited)
	}

	cfgFile, err := client.LoadConfig(cliConfig)
	if err != nil {
		t.Fatal(err)
	}
	x, ok := cfgFile.Get(cfgFile.Current)
	if !ok || x.User != "li.lei" || x.Token == "" || x.Server != server {
		t.Fatalf("stored context = %+v (current %q)", x, cfgFile.Current)
	}
	var who apitypes.WhoAmI
	if err := client.New(server, x.Token).Do(t.Context(), "GET", "/whoami", nil, &who); err != nil {
		t.Fatal(err)
	}
	if who.User.Name != "li.lei" {
		t.Fatalf("whoami with the stored token = %+v", who)
	}
}
