package console_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"berth.dev/berth/internal/console"
)

const indexHTML = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// built is a console as Vite builds it.
func built(t *testing.T) fstest.MapFS {
	return fstest.MapFS{
		"index.html":               {Data: []byte(indexHTML)},
		"favicon.svg":              {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-abc123.js":   {Data: []byte(`console.log("berth")`)},
		"assets/app-def456.css":    {Data: []byte(`body{margin:0}`)},
		"assets/big-789.js":        {Data: []byte(`let big = 1`)},
		"assets/big-789.js.gz":     {Data: gz(t, `let big = 1`)},
		"assets/nested/chunk-1.js": {Data: []byte(`1`)},
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, url, method string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{DisableCompression: true} // see the raw encoding
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func serve(t *testing.T, files fstest.MapFS) string {
	t.Helper()
	srv := httptest.NewServer(console.Handler(files))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTheConsoleServesItsFilesAndFallsBackToIndexForClientRoutes(t *testing.T) {
	t.Parallel()
	url := serve(t, built(t))
	for _, tc := range []struct {
		name, path                  string
		wantStatus                  int
		wantBody, wantCache, wantCT string
	}{
		{"the root is index.html, never cached", "/", 200, indexHTML, "no-cache", "text/html; charset=utf-8"},
		{"index.html itself", "/index.html", 200, indexHTML, "no-cache", "text/html; charset=utf-8"},
		{"a client-side route is index.html", "/apps/pay/versions", 200, indexHTML, "no-cache", "text/html; charset=utf-8"},
		{"a hashed script is cached for a year", "/assets/index-abc123.js", 200, `console.log("berth")`, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"a hashed stylesheet", "/assets/app-def456.css", 200, `body{margin:0}`, "public, max-age=31536000, immutable", "text/css; charset=utf-8"},
		{"a nested asset", "/assets/nested/chunk-1.js", 200, `1`, "public, max-age=31536000, immutable", "text/javascript; charset=utf-8"},
		{"another top-level file", "/favicon.svg", 200, `<svg xmlns="http://www.w3.org/2000/svg"/>`, "no-cache", "image/svg+xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := get(t, url+tc.path, "GET")
			if a.status != tc.wantStatus || a.body != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", a.status, a.body, tc.wantStatus, tc.wantBody)
			}
			if got := a.header.Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control %q, want %q", got, tc.wantCache)
			}
			if got := a.header.Get("Content-Type"); got != tc.wantCT {
				t.Errorf("Content-Type %q, want %q", got, tc.wantCT)
			}
		})
	}
}

func TestAMissingAssetIsNotFoundNeverIndex(t *testing.T) {
	t.Parallel()
	url := serve(t, built(t))
	for _, p := range []string{"/assets/index-old999.js", "/assets/", "/assets/nested", "/assets/../assets/gone.css"} {
		a := get(t, url+p, "GET")
		if a.status != http.StatusNotFound || strings.Contains(a.body, "<html") {
			t.Errorf("%s: %d %q, want 404 without index.html", p, a.status, a.body)
		}
	}
}

func TestACompressedSiblingIsServedToClientsThatAcceptGzip(t *testing.T) {
	t.Parallel()
	url := serve(t, built(t))
	a := get(t, url+"/assets/big-789.js", "GET", "Accept-Encoding", "br, gzip")
	if a.header.Get("Content-Encoding") != "gzip" || a.header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("headers %v, want gzip-encoded JavaScript", a.header)
	}
	r, err := gzip.NewReader(strings.NewReader(a.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil || string(plain) != `let big = 1` {
		t.Errorf("decompressed %q, %v", plain, err)
	}
	a = get(t, url+"/assets/big-789.js", "GET")
	if a.header.Get("Content-Encoding") != "" || a.body != `let big = 1` {
		t.Errorf("without Accept-Encoding: %v %q, want the plain file", a.header, a.body)
	}
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
			"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
		"X-Frame-Options":        "DENY",
	}
	builtURL, emptyURL := serve(t, built(t)), serve(t, fstest.MapFS{".keep": {}})
	for _, tc := range []struct{ url, method string }{
		{builtURL + "/", "GET"}, {builtURL + "/assets/index-abc123.js", "GET"}, {builtURL + "/assets/nope.js", "GET"},
		{builtURL + "/apps", "HEAD"}, {builtURL + "/", "POST"}, {emptyURL + "/", "GET"},
	} {
		a := get(t, tc.url, tc.method)
		for h, v := range want {
			if got := a.header.Get(h); got != v {
				t.Errorf("%s %s: %s %q, want %q", tc.method, tc.url, h, got, v)
			}
		}
	}
}

func TestOnlyGetAndHeadAreAnswered(t *testing.T) {
	t.Parallel()
	url := serve(t, built(t))
	a := get(t, url+"/", "POST")
	if a.status != http.StatusMethodNotAllowed || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d Allow %q, want 405 GET, HEAD", a.status, a.header.Get("Allow"))
	}
	a = get(t, url+"/apps/x", "HEAD")
	if a.status != http.StatusOK || a.body != "" {
		t.Errorf("HEAD: %d %q, want 200 without a body", a.status, a.body)
	}
}

func TestAConsoleNotBuiltSaysHowToBuildIt(t *testing.T) {
	t.Parallel()
	url := serve(t, fstest.MapFS{".keep": {}})
	for _, p := range []string{"/", "/apps/x"} {
		a := get(t, url+p, "GET")
		if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "make build") ||
			!strings.Contains(a.body, "控制台尚未构建") || !strings.Contains(a.body, "Console not built") {
			t.Errorf("%s: %d %q, want 503 saying to run make build in zh-CN and en", p, a.status, a.body)
		}
	}
}
