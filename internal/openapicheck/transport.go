package openapicheck

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// Transport is an http.RoundTripper that checks every exchange against Doc
// and reports a mismatch to TB, naming the method, path and status; the
// response is handed on either way. A server-sent event stream is handed
// on as it arrives, its status and media type checked.
type Transport struct {
	Doc  *Doc
	TB   testing.TB
	Base http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip sends req through Base and checks the exchange.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == EventStream {
		t.report(req, reqBody, resp, nil)
		return resp, nil
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if err != nil {
		// The caller meets the cut-off body as a short read; nothing to check.
		return resp, nil
	}
	t.report(req, reqBody, resp, respBody)
	return resp, nil
}

func (t *Transport) report(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	if err := t.Doc.Check(req, reqBody, resp, respBody); err != nil {
		t.TB.Helper()
		t.TB.Errorf("OpenAPI mismatch: %s %s answered %d: %v", req.Method, req.URL.RequestURI(), resp.StatusCode, err)
	}
}

// Client returns an HTTP client whose every exchange is checked against
// doc and reported to tb.
func Client(tb testing.TB, doc *Doc) *http.Client {
	return &http.Client{Transport: &Transport{Doc: doc, TB: tb}}
}

// FetchClient fetches the document served at docURL and returns a [Client]
// checking against it; it fails tb's test when the document cannot be
// loaded.
func FetchClient(tb testing.TB, docURL string) *http.Client {
	tb.Helper()
	doc, err := Fetch(tb.Context(), http.DefaultClient, docURL)
	if err != nil {
		tb.Fatal(err)
	}
	return Client(tb, doc)
}

// NewProxy returns a reverse proxy to target that checks every exchange
// passing through it against doc and reports a mismatch to tb. Event
// streams pass through as they arrive.
func NewProxy(tb testing.TB, doc *Doc, target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
		Transport:     &Transport{Doc: doc, TB: tb},
		FlushInterval: -1,
	}
}

// StartProxy serves [NewProxy] on a loopback port until tb's test ends and
// returns its base URL, for processes that cannot take a Go transport.
func StartProxy(tb testing.TB, doc *Doc, target string) string {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(NewProxy(tb, doc, u))
	tb.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}
