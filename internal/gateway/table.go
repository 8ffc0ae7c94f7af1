package gateway

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/gateway/breaker"
	"berth.dev/berth/internal/gateway/jwtauth"
	"berth.dev/berth/internal/gateway/ratelimit"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
)

// table is one built configuration: immutable once swapped in.
type table struct {
	hash   [32]byte // of the Config loaded (Load)
	id     string   // of the configuration streamed (update)
	apps   int
	routes []*route // in match order
}

type route struct {
	name        string
	host        string // lowercase; "" any
	wildcard    bool   // host is a suffix ".example.com"
	prefix      string
	strip       bool
	app         *app
	gov         *governance
	timeout     time.Duration
	maxBody     int64
	retries     int
	stable, grv *versionMetrics
	rejected    *versionMetrics
	idx         int // in its app's unit (streamed configurations)
}

type app struct {
	name    string
	matcher *traffic.Matcher
	stable  Selector
	gray    Selector // nil without a gray version
}

// governance is the stateful part of a route's policy, carried over to the
// next table while the route's policy is unchanged so that limits and
// breakers keep their state across unrelated configuration changes.
type governance struct {
	key     string // route name + policy JSON
	limiter *ratelimit.Limiter
	breaker *breaker.Set
	jwt     *jwtauth.Validator
}

func hashConfig(cfg Config) [32]byte {
	b, _ := json.Marshal(cfg) // plain data: cannot fail
	return sha256.Sum256(b)
}

// build turns a validated configuration into a table. prev (may be nil)
// provides governance state to carry over. Problems found here (files,
// keys, missing resolver) are reported as field errors too.
func (g *Gateway) build(cfg Config, prev *table) (*table, error) {
	var errs []*resource.FieldError
	apps := map[string]*app{}
	for i, a := range cfg.Apps {
		built, fes := g.buildApp(fmt.Sprintf("apps[%d]", i), a)
		errs = append(errs, fes...)
		if built != nil {
			apps[a.Name] = built
		}
	}
	old := map[string]*governance{}
	if prev != nil {
		for _, r := range prev.routes {
			old[r.gov.key] = r.gov
		}
	}
	t := &table{hash: hashConfig(cfg), apps: len(cfg.Apps)}
	for i, rc := range cfg.Routes {
		r, fe := g.buildRoute(fmt.Sprintf("routes[%d]", i), rc, apps[rc.App], old)
		if fe != nil {
			errs = append(errs, fe)
			continue
		}
		t.routes = append(t.routes, r)
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	slices.SortStableFunc(t.routes, func(a, b *route) int {
		return cmp.Or(cmp.Compare(hostRank(a), hostRank(b)), cmp.Compare(len(b.host), len(a.host)),
			cmp.Compare(len(b.prefix), len(a.prefix)))
	})
	return t, nil
}

// buildApp builds a, reporting problems under path; the app is nil when
// its rules do not compile.
func (g *Gateway) buildApp(path string, a App) (*app, []*resource.FieldError) {
	m, err := traffic.Compile(a.Traffic)
	if err != nil {
		return nil, []*resource.FieldError{{Path: path + ".traffic", Reason: err.Error()}}
	}
	built := &app{name: a.Name, matcher: m}
	var errs []*resource.FieldError
	var e1, e2 *resource.FieldError
	built.stable, e1 = g.selector(path+".stable", a.Stable, a.Health)
	if a.Gray != nil {
		built.gray, e2 = g.selector(path+".gray", *a.Gray, a.Health)
	}
	for _, e := range []*resource.FieldError{e1, e2} {
		if e != nil {
			errs = append(errs, e)
		}
	}
	return built, errs
}

func hostRank(r *route) int {
	switch {
	case r.host == "":
		return 2
	case r.wildcard:
		return 1
	}
	return 0
}

func (g *Gateway) selector(path string, u Upstream, h Health) (Selector, *resource.FieldError) {
	p := &pool{reg: &g.endpoints, health: h, now: g.opts.Now, log: g.log, ejectCtr: g.metrics.ejections.Inc}
	if u.Service != nil {
		if g.opts.Resolver == nil {
			return nil, &resource.FieldError{Path: path + ".service", Reason: "this gateway has no Kubernetes access (run it in a cluster or with --kubeconfig)"}
		}
		p.service, p.resolver = u.Service, g.opts.Resolver
		return p, nil
	}
	for _, a := range u.Addresses {
		p.static = append(p.static, g.endpoints.get(a))
	}
	return p, nil
}

func (g *Gateway) buildRoute(path string, rc Route, a *app, old map[string]*governance) (*route, *resource.FieldError) {
	host := strings.ToLower(rc.Host)
	r := &route{
		name: rc.Name, host: host, prefix: rc.PathPrefix, strip: rc.StripPrefix, app: a,
		timeout: rc.Policy.Timeout.Duration, maxBody: rc.Policy.MaxBodyBytes, retries: rc.Policy.Retries,
		stable: g.metrics.version(rc.Name, "stable"), grv: g.metrics.version(rc.Name, "gray"),
		rejected: g.metrics.version(rc.Name, "none"),
	}
	if strings.HasPrefix(host, "*.") {
		r.host, r.wildcard = host[1:], true
	}
	policy, _ := json.Marshal(rc.Policy)
	key := rc.Name + "\x00" + string(policy)
	if gov, ok := old[key]; ok {
		r.gov = gov
		return r, nil
	}
	gov, fe := g.governance(path+".policy", rc.Policy)
	if fe != nil {
		return nil, fe
	}
	gov.key = key
	r.gov = gov
	return r, nil
}

func (g *Gateway) governance(path string, p Policy) (*governance, *resource.FieldError) {
	gov := &governance{}
	if rl := p.RateLimit; rl != nil {
		spec := ratelimit.Spec{Rate: ratelimit.Rate{PerSecond: rl.RequestsPerSecond, Burst: rl.Burst}, ByHeader: rl.ByHeader}
		if len(rl.Overrides) > 0 {
			spec.Overrides = map[string]ratelimit.Rate{}
			for _, o := range rl.Overrides {
				spec.Overrides[o.Value] = ratelimit.Rate{PerSecond: o.RequestsPerSecond, Burst: o.Burst}
			}
		}
		gov.limiter = ratelimit.New(spec, g.opts.Now)
	}
	if cb := p.CircuitBreaker; cb != nil {
		gov.breaker = breaker.NewSet(breaker.Settings{
			Window: cb.Window.Duration, MinimumRequests: cb.MinimumRequests, FailureRatio: cb.FailureRatio,
			SlowCallDuration: cb.SlowCallDuration.Duration, SlowCallRatio: cb.SlowCallRatio,
			OpenFor: cb.OpenFor.Duration, HalfOpenProbes: cb.HalfOpenProbes,
		}, cb.ByHeader, g.opts.Now)
	}
	if j := p.JWT; j != nil {
		v, fe := g.jwtValidator(path+".jwt", j)
		if fe != nil {
			return nil, fe
		}
		gov.jwt = v
	}
	return gov, nil
}

func (g *Gateway) jwtValidator(path string, j *JWT) (*jwtauth.Validator, *resource.FieldError) {
	var spec jwtauth.Spec
	spec.Issuer, spec.Audience = j.Issuer, j.Audience
	if j.HMACSecretFile != "" {
		secret, err := os.ReadFile(j.HMACSecretFile)
		if err != nil {
			return nil, &resource.FieldError{Path: path + ".hmacSecretFile", Reason: "cannot read the secret file"}
		}
		spec.HMACSecret = []byte(strings.TrimSpace(string(secret)))
		if len(spec.HMACSecret) < 32 {
			return nil, &resource.FieldError{Path: path + ".hmacSecretFile", Reason: "the secret must be at least 32 bytes"}
		}
	}
	for i, pemText := range j.RSAPublicKeys {
		k, err := jwtauth.ParseRSAPublicKey(pemText)
		if err != nil {
			return nil, &resource.FieldError{Path: fmt.Sprintf("%s.rsaPublicKeys[%d]", path, i), Reason: "not a PEM RSA public key"}
		}
		spec.RSAKeys = append(spec.RSAKeys, k)
	}
	if j.JWKSURL != "" {
		spec.JWKS = jwtauth.NewJWKS(j.JWKSURL, g.opts.JWKSClient, g.opts.Now)
	}
	v, err := jwtauth.New(spec, g.opts.Now)
	if err != nil {
		return nil, &resource.FieldError{Path: path, Reason: err.Error()}
	}
	return v, nil
}

// match returns the route for host (without port, any case) and path.
func (t *table) match(host, path string) *route {
	for _, r := range t.routes {
		if r.matches(host, path) {
			return r
		}
	}
	return nil
}

func (r *route) matches(host, path string) bool {
	switch {
	case r.host == "":
	case r.wildcard:
		if len(host) <= len(r.host) || !strings.EqualFold(host[len(host)-len(r.host):], r.host) {
			return false
		}
	default:
		if !strings.EqualFold(host, r.host) {
			return false
		}
	}
	if !strings.HasPrefix(path, r.prefix) {
		return false
	}
	return len(path) == len(r.prefix) || strings.HasSuffix(r.prefix, "/") || path[len(r.prefix)] == '/'
}
