package servercmd

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// get sends a GET to the server at addr and returns the answer; the body
// is read whole.
func get(t *testing.T, addr, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestTheConsoleTakesOnlyWhatNoOtherRouteServes: the console is mounted at
// "/", below health, metrics, version and the API, which keep answering
// as before; every path the console takes carries its security headers.
func TestTheConsoleTakesOnlyWhatNoOtherRouteServes(t *testing.T) {
	t.Parallel()
	addr, err := start(t, testConfig(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, wantType, wantIn string }{
		{"/healthz", "application/json", `"status"`},
		{"/version", "application/json", `"version"`},
		{"/metrics", "text/plain", "berth_http_requests_total"},
		{"/api/v1/whoami", "application/json", `"code":"unauthenticated"`},
		{"/api/v1/no-such-route", "application/json", `"code":"not_found"`},
	} {
		resp, body := get(t, addr, tc.path)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) || !strings.Contains(body, tc.wantIn) ||
			resp.Header.Get("Content-Security-Policy") != "" {
			t.Errorf("GET %s: %s %q, want %s containing %s from its own handler", tc.path, resp.Header.Get("Content-Type"), body, tc.wantType, tc.wantIn)
		}
	}
	root, rootBody := get(t, addr, "/")
	for _, path := range []string{"/", "/apps/pay", "/releases/r-1/items"} {
		resp, body := get(t, addr, path)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.StatusCode != root.StatusCode || body != rootBody ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s: %d %s, want the console's page as at / (%d) with its CSP", path, resp.StatusCode, resp.Header, root.StatusCode)
		}
	}
}

// TestAnOpenEventStreamDoesNotHoldTheServerWhenItStops: the server's
// drain ends the console's live streams (the test's cleanup fails if
// Serve reports that its shutdown timed out).
func TestAnOpenEventStreamDoesNotHoldTheServerWhenItStops(t *testing.T) {
	t.Parallel()
	var stream *http.Response
	t.Cleanup(func() { // after the server stopped (cleanups run last first)
		if stream != nil {
			stream.Body.Close()
		}
	})
	addr, err := start(t, testConfig(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	login := `{"username":"admin","password":"` + adminPassword + `","token":{"name":"stream"}}`
	resp, err := http.Post("http://"+addr+"/api/v1/login", "application/json", strings.NewReader(login))
	if err != nil {
		t.Fatal(err)
	}
	var lr struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&lr)
	resp.Body.Close()
	if err != nil || lr.Token == "" {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	req, err := http.NewRequestWithContext(context.Background(), "GET", "http://"+addr+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+lr.Token)
	stream, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/events: %d", stream.StatusCode)
	}
	first, err := bufio.NewReader(stream.Body).ReadString('\n')
	if err != nil || first != "retry: 3000\n" {
		t.Fatalf("first line %q, %v", first, err)
	}
}
