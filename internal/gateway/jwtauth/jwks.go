package jwtauth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// MaxJWKSBytes bounds a JWKS document.
const MaxJWKSBytes = 1 << 20

// JWKS is a cached JSON Web Key Set fetched from a URL. Keys are fetched on
// first use, again when older than Refresh, and again (at most every
// MinRefetch) when a token names an unknown kid, which is how key rotation
// is picked up. Only RSA signing keys are kept.
//
// It is a few dozen lines of standard library rather than a dependency
// because the gateway needs only RS256 keys by kid (ADR 0002).
type JWKS struct {
	URL        string
	Client     *http.Client
	Refresh    time.Duration
	MinRefetch time.Duration
	Now        func() time.Time

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
	tried   time.Time
}

// NewJWKS returns a key set for url with default refresh intervals.
func NewJWKS(url string, client *http.Client, now func() time.Time) *JWKS {
	return &JWKS{URL: url, Client: client, Refresh: 10 * time.Minute, MinRefetch: 10 * time.Second, Now: now}
}

// Key returns the RSA key with id kid.
func (j *JWKS) Key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.Now()
	k, ok := j.keys[kid]
	stale := now.Sub(j.fetched) >= j.Refresh
	if (ok && !stale) || now.Sub(j.tried) < j.MinRefetch {
		if ok {
			return k, nil
		}
		return nil, fmt.Errorf("unknown key id %q", kid)
	}
	j.tried = now
	keys, err := j.fetch(ctx)
	if err != nil {
		if ok { // keep serving the key we have while the issuer is away
			return k, nil
		}
		return nil, err
	}
	j.keys, j.fetched = keys, now
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

func (j *JWKS) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks request: %w", err)
	}
	resp, err := j.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch jwks: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read jwks: %w", err)
	}
	if len(data) > MaxJWKSBytes {
		return nil, errors.New("jwks document too large")
	}
	return ParseJWKS(data)
}

// ParseJWKS decodes a JWKS document and returns its RSA keys usable for
// signatures, by kid. Keys of other types or uses are skipped.
func ParseJWKS(data []byte) (map[string]*rsa.PublicKey, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse jwks: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for i, k := range doc.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("jwks keys[%d]: %w", i, err)
		}
		modulus := new(big.Int).SetBytes(n)
		if modulus.BitLen() < 2048 || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("jwks keys[%d]: want a modulus of 2048 bits or more and a small exponent", i)
		}
		exp := new(big.Int).SetBytes(e)
		if exp.Int64() < 3 || exp.Bit(0) == 0 {
			return nil, fmt.Errorf("jwks keys[%d]: bad exponent", i)
		}
		keys[k.Kid] = &rsa.PublicKey{N: modulus, E: int(exp.Int64())}
	}
	return keys, nil
}
