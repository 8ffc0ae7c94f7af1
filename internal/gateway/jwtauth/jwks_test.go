package jwtauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway/jwtauth"
)

func jwk(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

func TestJWKSPicksUpRotatedKeysAndSurvivesIssuerOutage(t *testing.T) {
	t.Parallel()
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	var keys atomic.Value
	keys.Store([]map[string]string{jwk("k1", &k1.PublicKey)})
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys.Load()})
	}))
	t.Cleanup(srv.Close)
	now := time.Unix(1000, 0)
	j := jwtauth.NewJWKS(srv.URL, srv.Client(), func() time.Time { return now })

	if k, err := j.Key(t.Context(), "k1"); err != nil || k.N.Cmp(k1.N) != 0 {
		t.Fatalf("k1: %v", err)
	}
	keys.Store([]map[string]string{jwk("k1", &k1.PublicKey), jwk("k2", &k2.PublicKey)})
	if _, err := j.Key(t.Context(), "k2"); err == nil {
		t.Fatal("refetched before MinRefetch")
	}
	now = now.Add(j.MinRefetch)
	if k, err := j.Key(t.Context(), "k2"); err != nil || k.N.Cmp(k2.N) != 0 {
		t.Fatalf("rotated key k2: %v", err)
	}
	down.Store(true)
	now = now.Add(j.Refresh)
	if _, err := j.Key(t.Context(), "k1"); err != nil {
		t.Errorf("known key refused while the issuer is down: %v", err)
	}
}

func FuzzParseJWKS(f *testing.F) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	good, _ := json.Marshal(map[string]any{"keys": []map[string]string{jwk("k", &k.PublicKey)}})
	f.Add(good)
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := jwtauth.ParseJWKS(data)
		if err != nil {
			return
		}
		for kid, key := range keys {
			if key.N.BitLen() < 2048 || key.E < 3 || key.E%2 == 0 {
				t.Fatalf("weak key %q accepted: %d bits, e=%d", kid, key.N.BitLen(), key.E)
			}
		}
	})
}
