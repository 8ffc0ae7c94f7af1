package client

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/resource"
)

func TestConfigRoundTripsWithOwnerOnlyPermissions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "berth", "config.yaml")
	var c Config
	c.Put(Context{Name: "a", Server: "http://a", Token: "berth_t_x"})
	c.Put(Context{Name: "b", Server: "http://b"})
	c.Put(Context{Name: "a", Server: "http://a2"})
	c.Current = "a"
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600: it holds tokens", fi.Mode().Perm())
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("config (-saved +loaded):\n%s", diff)
	}
	cur, err := got.CurrentContext()
	if err != nil || cur.Server != "http://a2" {
		t.Errorf("current context %+v, %v: want a at http://a2", cur, err)
	}
}

func TestConfigPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"BERTH_CONFIG wins", map[string]string{"BERTH_CONFIG": "/x.yaml", "HOME": "/h"}, "/x.yaml"},
		{"XDG_CONFIG_HOME is honoured", map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}, "/xdg/berth/config.yaml"},
		{"home is the fallback", map[string]string{"HOME": "/h"}, "/h/.config/berth/config.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ConfigPath(func(k string) string { return tt.env[k] })
			if err != nil || got != tt.want {
				t.Errorf("ConfigPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestUnknownConfigFieldsAreErrors(t *testing.T) {
	t.Parallel()
	if _, err := ParseConfig([]byte("current: a\ncontexts: [{name: a, sever: x}]\n")); err == nil {
		t.Error("a misspelt field was accepted")
	}
}

func TestAPIErrorsDecode(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"code":"validation_failed","message":"Some fields are invalid.","fields":[{"path":"name","reason":"bad"}],"requestId":"r1"}`))
	}))
	defer srv.Close()
	err := New(srv.URL, "t").Do(t.Context(), "POST", "/tenants", map[string]string{}, nil)
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *Error", err)
	}
	want := &Error{Status: 422, Code: "validation_failed", Message: "Some fields are invalid.", Fields: []resource.FieldError{{Path: "name", Reason: "bad"}}, RequestID: "r1"}
	if diff := cmp.Diff(want, ae); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("current: a\ncontexts: [{name: a, server: 'http://x', token: t}]\n"))
	f.Add([]byte("contexts: 3"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		_, _ = c.CurrentContext()
	})
}

func TestLanguageFollowsTheLocale(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"BERTH_LANG wins", map[string]string{"BERTH_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"},
		{"a Chinese locale asks for zh-CN", map[string]string{"LANG": "zh_CN.UTF-8"}, "zh-CN"},
		{"LC_ALL overrides LANG", map[string]string{"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en-US"},
		{"the C locale says nothing", map[string]string{"LANG": "C"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Language(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("Language = %q, want %q", got, tt.want)
			}
		})
	}
}
