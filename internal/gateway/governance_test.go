package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"berth.dev/berth/internal/gateway"
)

func TestRateLimitPerRouteAndPerHeaderValue(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		clk := newClock()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].Policy.RateLimit = &gateway.RateLimit{
				RequestsPerSecond: 1, Burst: 2, ByHeader: "X-Org-Branch",
				Overrides: []gateway.RateOverride{{Value: "0001", RequestsPerSecond: 100, Burst: 5}},
			}
		})
		h := startGateway(t, &cfg, fe, withClock(clk))
		branch := func(v string) map[string]string { return map[string]string{"X-Org-Branch": v} }

		for i := range 2 {
			if got := h.get(t, "/", branch("0101")); got.code != http.StatusOK {
				t.Fatalf("request %d within burst: %d", i, got.code)
			}
		}
		got := h.get(t, "/", branch("0101"))
		if got.code != http.StatusTooManyRequests || got.hdr.Get("Retry-After") != "1" {
			t.Fatalf("over burst: %d Retry-After %q, want 429 and 1", got.code, got.hdr.Get("Retry-After"))
		}
		if got := h.get(t, "/", branch("0102")); got.code != http.StatusOK {
			t.Errorf("another branch has its own bucket: %d", got.code)
		}
		for i := range 5 {
			if got := h.get(t, "/", branch("0001")); got.code != http.StatusOK {
				t.Errorf("override burst request %d: %d", i, got.code)
			}
		}
		clk.Advance(time.Second)
		if got := h.get(t, "/", branch("0101")); got.code != http.StatusOK {
			t.Errorf("after refill: %d", got.code)
		}
		if n := b.hits.Load(); n != 9 {
			t.Errorf("backend saw %d requests, want 9 (refused ones never reach it)", n)
		}
	})
}

func TestRateLimitStateSurvivesUnrelatedConfigChange(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		clk := newClock()
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].Policy.RateLimit = &gateway.RateLimit{RequestsPerSecond: 1, Burst: 1}
		})
		h := startGateway(t, &cfg, fe, withClock(clk))
		h.get(t, "/", nil)
		cfg.Apps[0].Health.ConsecutiveFailures = 3 // unrelated change
		if changed, err := h.gw.Load(cfg); err != nil || !changed {
			t.Fatalf("Load = %v, %v", changed, err)
		}
		if got := h.get(t, "/", nil); got.code != http.StatusTooManyRequests {
			t.Errorf("bucket was reset by an unrelated change: %d", got.code)
		}
	})
}

func TestCircuitBreakerOnErrorRatio(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		clk := newClock()
		b := newBackend(t, "b")
		b.setHandler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
		cfg := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].Policy.CircuitBreaker = &gateway.CircuitBreaker{
				Window: dur(10 * time.Second), MinimumRequests: 4, FailureRatio: 0.5,
				OpenFor: dur(30 * time.Second), HalfOpenProbes: 2,
			}
		})
		h := startGateway(t, &cfg, fe, withClock(clk))
		for range 4 {
			if got := h.get(t, "/", nil); got.code != http.StatusInternalServerError {
				t.Fatalf("closed breaker: %d, want the backend's 500", got.code)
			}
		}
		got := h.get(t, "/", nil)
		if got.code != http.StatusServiceUnavailable || !strings.Contains(got.body, "circuit open") {
			t.Fatalf("after 4 failures: %d %q, want 503 circuit open", got.code, got.body)
		}
		if n := b.hits.Load(); n != 4 {
			t.Errorf("backend saw %d requests while open, want 4", n)
		}
		clk.Advance(30 * time.Second)
		b.setHandler(nil) // the backend recovers
		for i := range 2 {
			if got := h.get(t, "/", nil); got.code != http.StatusOK {
				t.Fatalf("half-open probe %d: %d", i, got.code)
			}
		}
		for range 3 {
			if got := h.get(t, "/", nil); got.code != http.StatusOK {
				t.Fatalf("after successful probes the breaker closes: %d", got.code)
			}
		}
	})
}

func TestCircuitBreakerOnSlowCallsPerBranch(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		clk := newClock()
		b := newBackend(t, "b")
		// The backend is slow for branch 0101 as the gateway's clock sees it.
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Org-Branch") == "0101" {
				clk.Advance(2 * time.Second)
			}
			w.WriteHeader(http.StatusOK)
		})
		cfg := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].Policy.CircuitBreaker = &gateway.CircuitBreaker{
				ByHeader: "X-Org-Branch", Window: dur(time.Minute), MinimumRequests: 2,
				SlowCallDuration: dur(time.Second), SlowCallRatio: 1, OpenFor: dur(time.Hour),
			}
		})
		h := startGateway(t, &cfg, fe, withClock(clk))
		slow, fast := map[string]string{"X-Org-Branch": "0101"}, map[string]string{"X-Org-Branch": "0202"}
		h.get(t, "/", slow)
		h.get(t, "/", slow)
		if got := h.get(t, "/", slow); got.code != http.StatusServiceUnavailable {
			t.Errorf("slow branch after 2 slow calls: %d, want 503", got.code)
		}
		for range 3 {
			if got := h.get(t, "/", fast); got.code != http.StatusOK {
				t.Errorf("another branch keeps its own closed breaker: %d", got.code)
			}
		}
	})
}

func TestJWT(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		clk := newClock()
		secret := []byte("0123456789abcdef0123456789abcdef")
		secretFile := filepath.Join(t.TempDir(), "secret")
		if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
			t.Fatal(err)
		}
		staticKey, jwksKey := rsaKey(t), rsaKey(t)
		jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
				"kty": "RSA", "kid": "k1", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(jwksKey.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(jwksKey.E)).Bytes()),
			}}})
		}))
		t.Cleanup(jwks.Close)
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].Policy.JWT = &gateway.JWT{
				HMACSecretFile: secretFile, RSAPublicKeys: []string{publicPEM(t, staticKey)},
				JWKSURL: jwks.URL, Issuer: "berth", Audience: "teller",
			}
		})
		h := startGateway(t, &cfg, fe, withClock(clk))
		good := jwt.MapClaims{"iss": "berth", "aud": "teller", "exp": clk.Now().Add(time.Hour).Unix()}
		with := func(claims jwt.MapClaims, mutate func(jwt.MapClaims)) jwt.MapClaims {
			out := jwt.MapClaims{}
			for k, v := range claims {
				out[k] = v
			}
			mutate(out)
			return out
		}
		tests := []struct {
			name  string
			token string
			want  int
		}{
			{"an HS256 token signed with the secret passes", sign(t, jwt.SigningMethodHS256, "", good, secret), 200},
			{"an RS256 token signed with a static key passes", sign(t, jwt.SigningMethodRS256, "", good, staticKey), 200},
			{"an RS256 token signed with a JWKS key passes", sign(t, jwt.SigningMethodRS256, "k1", good, jwksKey), 200},
			{"a token with an unknown key id is refused", sign(t, jwt.SigningMethodRS256, "k9", good, rsaKey(t)), 401},
			{"an HS256 token signed with another secret is refused", sign(t, jwt.SigningMethodHS256, "", good, []byte("another-secret-another-secret-xx")), 401},
			{"an expired token is refused",
				sign(t, jwt.SigningMethodHS256, "", with(good, func(c jwt.MapClaims) { c["exp"] = clk.Now().Add(-time.Hour).Unix() }), secret), 401},
			{"a token without expiry is refused", sign(t, jwt.SigningMethodHS256, "", with(good, func(c jwt.MapClaims) { delete(c, "exp") }), secret), 401},
			{"a token from another issuer is refused", sign(t, jwt.SigningMethodHS256, "", with(good, func(c jwt.MapClaims) { c["iss"] = "evil" }), secret), 401},
			{"a token for another audience is refused", sign(t, jwt.SigningMethodHS256, "", with(good, func(c jwt.MapClaims) { c["aud"] = "admin" }), secret), 401},
			{"an unsigned token is refused", sign(t, jwt.SigningMethodNone, "", good, jwt.UnsafeAllowNoneSignatureType), 401},
			{"no token is refused", "", 401},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				hdr := map[string]string{}
				if tt.token != "" {
					hdr["Authorization"] = "Bearer " + tt.token
				}
				got := h.get(t, "/", hdr)
				if got.code != tt.want {
					t.Errorf("status %d %q, want %d", got.code, got.body, tt.want)
				}
				if got.code == 401 && got.hdr.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
	})
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicPEM(t *testing.T, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func sign(t *testing.T, m jwt.SigningMethod, kid string, claims jwt.MapClaims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRequestSizeAndTimeoutLimits(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		slow := newBackend(t, "slow")
		slow.setHandler(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		cfg := gateway.Config{
			Routes: []gateway.Route{
				{Name: "upload", PathPrefix: "/upload", App: "b", Policy: gateway.Policy{MaxBodyBytes: 10}},
				{Name: "slow", PathPrefix: "/slow", App: "slow", Policy: gateway.Policy{Timeout: dur(100 * time.Millisecond)}},
			},
			Apps: []gateway.App{
				{Name: "b", Stable: gateway.Upstream{Addresses: []string{b.addr()}}},
				{Name: "slow", Stable: gateway.Upstream{Addresses: []string{slow.addr()}}},
			},
		}
		h := startGateway(t, &cfg, fe)
		if got := h.do(t, http.MethodPost, "/upload", nil, strings.NewReader("0123456789")); got.code != http.StatusOK {
			t.Errorf("body at the limit: %d", got.code)
		}
		if got := h.do(t, http.MethodPost, "/upload", nil, strings.NewReader("0123456789X")); got.code != http.StatusRequestEntityTooLarge {
			t.Errorf("declared body over the limit: %d, want 413", got.code)
		}
		chunked := h.raw(t, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n")
		if !strings.Contains(chunked, "413") {
			t.Errorf("chunked body over the limit: %q, want 413", chunked)
		}
		got := h.get(t, "/slow", nil)
		if got.code != http.StatusGatewayTimeout {
			t.Errorf("slow upstream: %d, want 504", got.code)
		}
	})
}

func TestCircuitBreakerCountsAnUpstreamBodyBrokenMidStream(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		b := newBackend(t, "b")
		b.setHandler(func(w http.ResponseWriter, r *http.Request) {
			c, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it")
			_ = rw.Flush()
			c.Close()
		})
		cfg := simple(b.addr(), "", func(c *gateway.Config) {
			c.Routes[0].Policy.CircuitBreaker = &gateway.CircuitBreaker{MinimumRequests: 1, FailureRatio: 1, OpenFor: dur(time.Hour)}
		})
		h := startGateway(t, &cfg, fe)
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+"/", nil)
		if res, err := h.client.Do(req); err == nil {
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil {
				t.Fatal("a truncated upstream body reached the client as complete")
			}
		}
		if got := h.get(t, "/", nil); got.code != http.StatusServiceUnavailable {
			t.Errorf("after a broken upstream body: %d, want 503 circuit open", got.code)
		}
		if !strings.Contains(h.access.String(), `"route":"r"`) {
			t.Errorf("the aborted request was not logged:\n%s", h.access.String())
		}
	})
}
