package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"berth.dev/berth/internal/configcenter"
)

// nacosCall sends a form request to the Nacos HTTP API as the Java client
// does (application/x-www-form-urlencoded, accessToken as a parameter).
func (h *nacosHarness) nacosCall(t *testing.T, method, path string, form url.Values, headers ...string) (int, http.Header, string) {
	t.Helper()
	return h.nacosCallCtx(t, t.Context(), method, path, form, headers...)
}

func (h *nacosHarness) nacosCallCtx(t *testing.T, ctx context.Context, method, path string, form url.Values, headers ...string) (int, http.Header, string) {
	t.Helper()
	u := h.nacosURL + NacosPrefix + path
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		u += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func (h *nacosHarness) accessToken(t *testing.T, user string) string {
	t.Helper()
	status, _, body := h.nacosCall(t, "POST", "/v1/auth/users/login", url.Values{"username": {user}, "password": {nacosPassword}})
	var lr struct {
		AccessToken string `json:"accessToken"`
		TokenTTL    int    `json:"tokenTtl"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &lr) != nil || lr.AccessToken == "" || lr.TokenTTL <= 0 {
		t.Fatalf("login %s: %d %s", user, status, body)
	}
	return lr.AccessToken
}

// TestNacosHTTPv1WireFormat drives the 1.x HTTP API by its wire format:
// login, publish, get with its headers, the long-polling listener
// answering at once for a stale MD5 and, parked, when Berth publishes,
// delete; and the v2 API.
func TestNacosHTTPv1WireFormat(t *testing.T) {
	t.Parallel()
	h := newNacosHarness(t)
	tok := h.accessToken(t, "dora")
	if status, _, _ := h.nacosCall(t, "POST", "/v1/auth/users/login", url.Values{"username": {"dora"}, "password": {"wrong-password-1"}}); status != 403 && status != 401 {
		t.Errorf("login with a wrong password: %d", status)
	}
	key := url.Values{"dataId": {"app.properties"}, "group": {"G"}, "tenant": {nacosNS}, "accessToken": {tok}}
	with := func(extra url.Values) url.Values {
		v := url.Values{}
		for k, x := range key {
			v[k] = x
		}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	if status, _, body := h.nacosCall(t, "POST", "/v1/cs/configs", with(url.Values{"content": {"a=1\n"}, "type": {"properties"}})); status != 200 || body != "true" {
		t.Fatalf("publish: %d %q", status, body)
	}
	status, hdr, body := h.nacosCall(t, "GET", "/v1/cs/configs", key)
	// md5sum of "a=1\n".
	const md5a1 = "d5e29449b9e66d5b4bb0d6ce48fbbcb1"
	if status != 200 || body != "a=1\n" || hdr.Get("Config-Type") != "properties" {
		t.Fatalf("get: %d %q %v", status, body, hdr)
	}
	if got := hdr.Get("Content-MD5"); got != configcenter.MD5("a=1\n") || got != md5a1 {
		t.Errorf("Content-MD5 = %s, want %s", got, md5a1)
	}
	if status, _, _ := h.nacosCall(t, "GET", "/v1/cs/configs", url.Values{"dataId": {"app.properties"}, "group": {"G"}, "tenant": {nacosNS}}); status != 403 && status != 401 {
		t.Errorf("get without a token: %d", status)
	}
	if status, _, body := h.nacosCall(t, "GET", "/v1/cs/configs", with(url.Values{"tenant": {"public"}})); status != 422 && status != 400 || !strings.Contains(body, "tenant") {
		t.Errorf("get in the public namespace: %d %q", status, body)
	}

	// A stale MD5: the listener answers at once with the key, URL-encoded.
	stale := "app.properties\x02G\x02deadbeef\x02" + nacosNS + "\x01"
	status, _, body = h.nacosCall(t, "POST", "/v1/cs/configs/listener", url.Values{"Listening-Configs": {stale}, "accessToken": {tok}},
		"Long-Pulling-Timeout", "30000")
	if want := url.QueryEscape("app.properties\x02G\x02" + nacosNS + "\x01"); status != 200 || body != want {
		t.Fatalf("listener with a stale md5: %d %q, want %q", status, body, want)
	}
	// The current MD5: the listener parks until Berth publishes.
	current := "app.properties\x02G\x02" + md5a1 + "\x02" + nacosNS + "\x01"
	k := configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "G", DataID: "app.properties"}
	type answer struct {
		status int
		body   string
	}
	got := make(chan answer, 1)
	go func() {
		s, _, b := h.nacosCall(t, "POST", "/v1/cs/configs/listener", url.Values{"Listening-Configs": {current}, "accessToken": {tok}},
			"Long-Pulling-Timeout", "60000")
		got <- answer{s, b}
	}()
	waitFor(t, "the listener to park", func() bool { return h.watch.Watchers(k) == 1 })
	if status, _, _ := h.nacosCall(t, "POST", "/v1/cs/configs", with(url.Values{"content": {"a=2\n"}})); status != 200 {
		t.Fatalf("second publish: %d", status)
	}
	if a := <-got; a.status != 200 || a.body != url.QueryEscape("app.properties\x02G\x02"+nacosNS+"\x01") {
		t.Errorf("parked listener answered %d %q", a.status, a.body)
	}

	// v2.
	v2 := url.Values{"dataId": {"app.properties"}, "group": {"G"}, "namespaceId": {nacosNS}, "accessToken": {tok}}
	status, _, body = h.nacosCall(t, "GET", "/v2/cs/config", v2)
	var res struct {
		Code int    `json:"code"`
		Data string `json:"data"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Code != 0 || res.Data != "a=2\n" {
		t.Errorf("v2 get: %d %s", status, body)
	}
	if status, _, body := h.nacosCall(t, "DELETE", "/v1/cs/configs", key); status != 200 || body != "true" {
		t.Errorf("delete: %d %q", status, body)
	}
	status, _, body = h.nacosCall(t, "GET", "/v2/cs/config", v2)
	if status != 404 || !strings.Contains(body, "20004") {
		t.Errorf("v2 get after delete: %d %s", status, body)
	}
	if status, _, body := h.nacosCall(t, "POST", "/v1/cs/configs", with(url.Values{"content": {"a: [1\n"}, "type": {"yaml"}})); status < 400 || !strings.Contains(body, "line") {
		t.Errorf("invalid yaml: %d %q, want refused naming the line", status, body)
	}
}

// TestNacosListenerBoundPerCaller: one user may hold at most
// MaxParkedPerCaller long-polls; the next is refused with 429.
func TestNacosListenerBoundPerCaller(t *testing.T) {
	t.Parallel()
	h := newNacosHarness(t)
	for range MaxParkedPerCaller {
		if !h.api.parked.take("dora") {
			t.Fatal("refused below the bound")
		}
	}
	tok := h.accessToken(t, "dora")
	line := "x\x02G\x02\x02" + nacosNS + "\x01"
	status, _, _ := h.nacosCall(t, "POST", "/v1/cs/configs/listener", url.Values{"Listening-Configs": {line}, "accessToken": {tok}},
		"Long-Pulling-Timeout", "30000")
	if status != http.StatusTooManyRequests {
		t.Errorf("listener over the bound: %d, want 429", status)
	}
	if !h.api.parked.take("vera") {
		t.Error("another user is refused too")
	}
}

// TestConfigItemManifest: applying a ConfigItem publishes its content, a
// second apply of the same content changes nothing, and a Nacos client
// reads what was applied.
func TestConfigItemManifest(t *testing.T) {
	t.Parallel()
	h := newNacosHarness(t)
	admin := h.token("admin", adminPassword)
	doc := "apiVersion: berth.dev/v1\nkind: ConfigItem\nmetadata: {tenant: acme, project: payments}\n" +
		"spec: {environment: test, dataId: app.json, type: json, content: '{\"a\": 1}', ticket: CHG-9}\n"
	for _, want := range []string{"published", "unchanged"} {
		r := h.must(http.StatusOK, admin, "POST", "/apply", doc)
		if !strings.Contains(string(r.body), `"action":"`+want+`"`) {
			t.Errorf("apply: %s, want %s", r.body, want)
		}
	}
	tok := h.accessToken(t, "dora")
	status, hdr, body := h.nacosCall(t, "GET", "/v1/cs/configs", url.Values{"dataId": {"app.json"}, "tenant": {nacosNS}, "accessToken": {tok}})
	if status != 200 || body != `{"a": 1}` || hdr.Get("Config-Type") != "json" {
		t.Errorf("nacos get of the applied item: %d %q %v", status, body, hdr.Get("Config-Type"))
	}
	bad := strings.Replace(doc, `'{"a": 1}'`, `'{"a": }'`, 1)
	if r := h.call(admin, "POST", "/apply", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "spec.content") {
		t.Errorf("apply of invalid JSON: %d %s, want 422 at spec.content", r.status, r.body)
	}
}
