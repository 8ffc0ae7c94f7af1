package api

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/store/storetest"
)

// TestUnauthenticatedBadInputIsRefused sends every route that needs a
// caller bad query parameters and a bad body, without credentials and
// with a token that does not exist: each answer is 401, never a
// validation error that tells an anonymous caller anything. (Callers who
// are known but refused are checked the same way by TestRoleMatrix.)
func TestUnauthenticatedBadInputIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	for _, rt := range h.api.Routes() {
		if rt.Public {
			continue
		}
		path := strings.ReplaceAll(rt.Path, "{tenant}", tenB)
		path = pathParam.ReplaceAllString(path, "x")
		for _, auth := range []string{"", "Bearer no-such-token", "Basic YWRtaW46eA=="} {
			ctype := "application/json"
			if rt.Request == "Manifest" {
				ctype = "application/yaml"
			}
			req, err := http.NewRequestWithContext(t.Context(), rt.Method, h.url+Prefix+path+"?"+garbageQuery+"&tenant="+tenB,
				strings.NewReader(`{"resourceVersion": "x", "nonsense": [`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ctype)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := h.client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			r := response{status: resp.StatusCode, body: body}
			if r.status != http.StatusUnauthorized || errorCode(r) != "unauthenticated" {
				t.Errorf("%s %s with %q and bad input: status %d, want 401 unauthenticated: %s", rt.Method, path, auth, r.status, body)
			}
			if bytes.Contains(body, []byte(foreignMark)) {
				t.Errorf("%s %s with %q: the answer names %s: %s", rt.Method, path, auth, tenB, body)
			}
		}
	}
}
