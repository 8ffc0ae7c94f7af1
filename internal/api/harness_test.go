package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/openapicheck"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store/storetest"
)

const adminPassword = "admin-password-for-tests"

// cheapArgon2 keeps password hashing fast in tests; production uses
// identity.DefaultArgon2.
var cheapArgon2 = identity.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// harness is a real API server on a loopback listener over a real store.
type harness struct {
	t     *testing.T
	url   string
	p     *platform.Platform
	api   *API
	clock *clock.Fake // drives the login limiter only
	// checked checks every exchange against the served OpenAPI document;
	// see client.
	checked *http.Client
}

// client is the HTTP client of every call: each request it sends and each
// response it receives is checked against the OpenAPI document the server
// serves, and a mismatch fails the test.
func (h *harness) client() *http.Client {
	h.t.Helper()
	if h.checked == nil {
		h.checked = openapicheck.FetchClient(h.t, h.url+Prefix+"/openapi.json")
	}
	return h.checked
}

// newHarness starts the harness; opts adjust the platform's options (such
// as a namespace inspector for tests on a real cluster).
func newHarness(t *testing.T, newStore storetest.NewStore, opts ...func(*platform.Options)) *harness {
	t.Helper()
	return newHarnessWith(t, newStore, Options{}, opts...)
}

// newHarnessWith is newHarness serving the API with o.
func newHarnessWith(t *testing.T, newStore storetest.NewStore, o Options, opts ...func(*platform.Options)) *harness {
	t.Helper()
	st := newStore(t)
	key := bytes.Repeat([]byte{7}, seal.KeySize)
	sealer, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	po := platform.Options{Sealer: sealer, Identity: identity.Options{Argon2: cheapArgon2}}
	for _, f := range opts {
		f(&po)
	}
	p, err := platform.New(st, po)
	if err != nil {
		t.Fatal(err)
	}
	return startHarness(t, p, o)
}

// startHarness bootstraps p and serves the API over it with o (Log,
// Platform and Limiter are set here).
func startHarness(t *testing.T, p *platform.Platform, o Options) *harness {
	t.Helper()
	if _, _, err := p.Bootstrap(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	fake := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	log := &failOnUndecided{Handler: slog.NewTextHandler(io.Discard, nil), t: t}
	o.Log, o.Platform = slog.New(log), p
	o.Limiter = NewLimiter(fake, LimiterOptions{PerUser: 3, PerIP: 10, Window: time.Minute})
	a := New(o)
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", a)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		if err := a.Close(); err != nil {
			t.Errorf("close the API: %v", err)
		}
	})
	return &harness{t: t, url: srv.URL, p: p, api: a, clock: fake}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) errorBody(t *testing.T) apitypes.ErrorBody {
	t.Helper()
	var e apitypes.ErrorBody
	r.decode(t, &e)
	return e
}

// call sends a request with a bearer token (if any) and a JSON body (if
// not nil; a string is sent as is).
func (h *harness) call(token, method, path string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/yaml"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(h.t.Context(), method, h.url+Prefix+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// must sends a request and fails the test unless it gets want.
func (h *harness) must(want int, token, method, path string, body any) response {
	h.t.Helper()
	r := h.call(token, method, path, body)
	if r.status != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// token logs in as user and returns an API token.
func (h *harness) token(user, password string) string {
	h.t.Helper()
	var lr apitypes.LoginResponse
	h.must(http.StatusOK, "", "POST", "/login", apitypes.LoginRequest{Username: user, Password: password, Token: &apitypes.TokenRequest{Name: "test"}}).decode(h.t, &lr)
	return lr.Token
}

// failOnUndecided fails the test when a handler reports that it reached no
// authorization decision.
type failOnUndecided struct {
	slog.Handler
	t *testing.T
}

func (h *failOnUndecided) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == undecided {
		var route string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "route" {
				route = a.Value.String()
			}
			return true
		})
		h.t.Errorf("%s: %s", undecided, route)
	}
	return h.Handler.Handle(ctx, r)
}
