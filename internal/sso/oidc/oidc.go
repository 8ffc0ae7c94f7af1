// Package oidc is the OpenID Connect client of single sign-on: the
// authorization code flow with PKCE (S256) for the console, the provider
// found by discovery, ID tokens checked by go-oidc against the provider's
// JWKS (fetched again when a token is signed by a key it does not know
// yet, so key rotation needs nothing), issuer, audience, expiry and nonce.
//
// It implements sso.RedirectProvider; the HTTP routes that send the
// browser back and forth are internal/api's.
package oidc

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
)

// timeout bounds each request to the provider.
const timeout = 10 * time.Second

// Provider is one configured OIDC provider. It is safe for concurrent use.
type Provider struct {
	cfg    sso.OIDCConfig
	secret string
	client *http.Client

	mu       sync.Mutex
	provider *gooidc.Provider // discovered on first use, retried until it works
}

var _ sso.RedirectProvider = (*Provider)(nil)

// New returns the provider of cfg, a validated configuration with its
// defaults; it reads the client secret and CA bundle now. Discovery waits
// for the first sign-in, so a provider that is down does not stop the
// server.
func New(cfg sso.OIDCConfig) (*Provider, error) {
	p := &Provider{cfg: cfg, client: &http.Client{Timeout: timeout}}
	if cfg.ClientSecretFile != "" {
		b, err := os.ReadFile(cfg.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("oidc provider %s: read clientSecretFile: %w", cfg.Name, err)
		}
		p.secret = strings.TrimRight(string(b), "\r\n")
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("oidc provider %s: read caFile: %w", cfg.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("oidc provider %s: caFile holds no PEM certificate", cfg.Name)
		}
		p.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}}
	}
	return p, nil
}

// Name returns the provider's configured name.
func (p *Provider) Name() string { return p.cfg.Name }

func (p *Provider) discover(ctx context.Context) (*gooidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provider != nil {
		return p.provider, nil
	}
	// The key set go-oidc builds keeps the context it is given for
	// refetching keys later: give it one that outlives this request (the
	// client's timeout bounds each fetch).
	prov, err := gooidc.NewProvider(gooidc.ClientContext(context.WithoutCancel(ctx), p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc provider %s: discovery: %w: %w", p.cfg.Name, sso.ErrUnavailable, err)
	}
	p.provider = prov
	return prov, nil
}

func (p *Provider) oauth2(prov *gooidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.secret, Endpoint: prov.Endpoint(),
		RedirectURL: p.cfg.RedirectURL, Scopes: p.cfg.Scopes}
}

// AuthCodeURL returns the provider's authorization URL for one sign-in.
func (p *Provider) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	prov, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return p.oauth2(prov).AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange redeems code and checks the ID token.
func (p *Provider) Exchange(ctx context.Context, code, verifier, nonce string) (sso.Identity, error) {
	prov, err := p.discover(ctx)
	if err != nil {
		return sso.Identity{}, err
	}
	ctx = gooidc.ClientContext(ctx, p.client)
	tok, err := p.oauth2(prov).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return sso.Identity{}, fmt.Errorf("oidc provider %s refused the code: %w", p.cfg.Name, resource.ErrUnauthenticated)
		}
		return sso.Identity{}, fmt.Errorf("oidc provider %s: redeem the code: %w: %w", p.cfg.Name, sso.ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return sso.Identity{}, fmt.Errorf("oidc provider %s sent no ID token: %w", p.cfg.Name, resource.ErrUnauthenticated)
	}
	idt, err := prov.Verifier(&gooidc.Config{ClientID: p.cfg.Audience}).Verify(ctx, raw)
	if err != nil {
		return sso.Identity{}, fmt.Errorf("oidc provider %s: ID token: %v: %w", p.cfg.Name, err, resource.ErrUnauthenticated)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return sso.Identity{}, fmt.Errorf("oidc provider %s: the ID token's nonce is not this sign-in's: %w", p.cfg.Name, resource.ErrUnauthenticated)
	}
	id, err := p.identity(idt)
	if !errors.Is(err, errOverage) {
		return id, err
	}
	if p.cfg.GroupsOverage != sso.OverageUserInfo {
		return sso.Identity{}, fmt.Errorf("oidc provider %s left the %s claim out (too many groups): set groupsOverage: userinfo, or send fewer groups: %w",
			p.cfg.Name, p.cfg.GroupsClaim, resource.ErrUnauthenticated)
	}
	return p.userInfoGroups(ctx, prov, tok, id)
}

// errOverage is an ID token that leaves its groups out because there are
// too many.
var errOverage = errors.New("groups overage")

// userInfoGroups reads the groups of id from the provider's UserInfo
// endpoint, with the sign-in's access token.
func (p *Provider) userInfoGroups(ctx context.Context, prov *gooidc.Provider, tok *oauth2.Token, id sso.Identity) (sso.Identity, error) {
	info, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return sso.Identity{}, fmt.Errorf("oidc provider %s: userinfo for the groups: %w: %w", p.cfg.Name, sso.ErrUnavailable, err)
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil || info.Subject != id.Subject {
		return sso.Identity{}, fmt.Errorf("oidc provider %s: userinfo is not the ID token's subject: %w", p.cfg.Name, resource.ErrUnauthenticated)
	}
	if _, ok := claims[p.cfg.GroupsClaim]; !ok {
		return sso.Identity{}, fmt.Errorf("oidc provider %s: userinfo has no %s claim either: %w", p.cfg.Name, p.cfg.GroupsClaim, resource.ErrUnauthenticated)
	}
	id.Groups = Groups(claims[p.cfg.GroupsClaim])
	return id, nil
}

// identity reads the person from the ID token's claims.
func (p *Provider) identity(idt *gooidc.IDToken) (sso.Identity, error) {
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return sso.Identity{}, fmt.Errorf("oidc provider %s: claims: %v: %w", p.cfg.Name, err, resource.ErrUnauthenticated)
	}
	id := sso.Identity{Provider: p.cfg.Name, Subject: idt.Subject}
	id.Username, _ = claims[p.cfg.UsernameClaim].(string)
	id.DisplayName, _ = claims["name"].(string)
	id.Email, _ = claims["email"].(string)
	if id.Username == "" {
		return sso.Identity{}, fmt.Errorf("oidc provider %s: the ID token has no %s claim: %w", p.cfg.Name, p.cfg.UsernameClaim, resource.ErrUnauthenticated)
	}
	id.Groups = Groups(claims[p.cfg.GroupsClaim])
	if _, ok := claims[p.cfg.GroupsClaim]; !ok && overage(claims, p.cfg.GroupsClaim) {
		return id, errOverage
	}
	return id, nil
}

// overage tells whether claims say the groups claim was left out: a
// distributed claim (_claim_names) for it, or Entra ID's hasgroups.
func overage(claims map[string]any, groupsClaim string) bool {
	names, _ := claims["_claim_names"].(map[string]any)
	_, distributed := names[groupsClaim]
	has, _ := claims["hasgroups"].(bool)
	return distributed || has
}

// Groups reads a groups claim: a list of strings, or one string. Anything
// else (a provider's "overage" pointer instead of the list, say) is no
// groups: fewer groups can only grant less.
func Groups(v any) []string {
	switch g := v.(type) {
	case string:
		return []string{g}
	case []any:
		out := make([]string, 0, len(g))
		for _, x := range g {
			if s, ok := x.(string); ok && len(out) < sso.MaxGroups {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
