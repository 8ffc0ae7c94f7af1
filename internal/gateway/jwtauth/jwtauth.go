// Package jwtauth validates the bearer tokens of requests for the gateway:
// HS256 with a shared secret, RS256 with configured PEM public keys or keys
// fetched from a JWKS URL (see jwks.go). Parsing and signature checks are
// github.com/golang-jwt/jwt/v5's.
package jwtauth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrNoToken is returned when a request carries no bearer token.
var ErrNoToken = errors.New("no bearer token")

// Spec configures a Validator. Zero parts are not used.
type Spec struct {
	HMACSecret []byte
	RSAKeys    []*rsa.PublicKey
	JWKS       *JWKS
	Issuer     string
	Audience   string
}

// Validator checks tokens. It is safe for concurrent use.
type Validator struct {
	spec   Spec
	parser *jwt.Parser
}

// New returns a validator for spec, reading time from now. It keeps spec's
// slices.
func New(spec Spec, now func() time.Time) (*Validator, error) {
	var methods []string
	if len(spec.HMACSecret) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if len(spec.RSAKeys) > 0 || spec.JWKS != nil {
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	if len(methods) == 0 {
		return nil, errors.New("no keys: want an HMAC secret, RSA public keys or a JWKS URL")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(now),
		jwt.WithLeeway(30 * time.Second),
	}
	if spec.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(spec.Issuer))
	}
	if spec.Audience != "" {
		opts = append(opts, jwt.WithAudience(spec.Audience))
	}
	return &Validator{spec: spec, parser: jwt.NewParser(opts...)}, nil
}

// Check validates the token in an Authorization header value ("Bearer
// <token>"). ctx bounds a JWKS fetch, if one is needed.
func (v *Validator) Check(ctx context.Context, authorization string) error {
	scheme, token, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return ErrNoToken
	}
	_, err := v.parser.Parse(strings.TrimSpace(token), func(t *jwt.Token) (any, error) {
		return v.key(ctx, t)
	})
	if err != nil {
		return fmt.Errorf("invalid token: %w", err)
	}
	return nil
}

func (v *Validator) key(ctx context.Context, t *jwt.Token) (any, error) {
	if t.Method.Alg() == jwt.SigningMethodHS256.Alg() {
		return v.spec.HMACSecret, nil
	}
	kid, _ := t.Header["kid"].(string)
	if v.spec.JWKS != nil && kid != "" {
		if k, err := v.spec.JWKS.Key(ctx, kid); err == nil {
			return k, nil
		} else if len(v.spec.RSAKeys) == 0 {
			return nil, err
		}
	}
	if len(v.spec.RSAKeys) == 0 {
		return nil, errors.New("token has no kid and no static RSA keys are configured")
	}
	set := jwt.VerificationKeySet{}
	for _, k := range v.spec.RSAKeys {
		set.Keys = append(set.Keys, k)
	}
	return set, nil
}

// ParseRSAPublicKey reads one PEM public key (PKIX or PKCS#1).
func ParseRSAPublicKey(pemText string) (*rsa.PublicKey, error) {
	return jwt.ParseRSAPublicKeyFromPEM([]byte(pemText))
}
