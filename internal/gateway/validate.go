package gateway

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"berth.dev/berth/internal/resource"
)

// Validate returns a *ValidationError listing every invalid field of c, or
// nil.
func (c Config) Validate() error {
	v := &validator{}
	apps := map[string]bool{}
	for i, a := range c.Apps {
		p := fmt.Sprintf("apps[%d]", i)
		if a.Name == "" {
			v.bad(p+".name", "must not be empty")
		} else if apps[a.Name] {
			v.bad(p+".name", "duplicate app %q", a.Name)
		}
		apps[a.Name] = true
		v.upstream(p+".stable", a.Stable)
		if a.Gray != nil {
			v.upstream(p+".gray", *a.Gray)
		}
		for _, e := range a.Traffic.Validate() {
			v.bad(p+".traffic."+e.Path, "%s", e.Reason)
		}
		if a.Health.ConsecutiveFailures < 0 {
			v.bad(p+".health.consecutiveFailures", "must not be negative")
		}
		if a.Health.EjectFor.Duration < 0 {
			v.bad(p+".health.ejectFor", "must not be negative")
		}
	}
	names := map[string]bool{}
	for i, r := range c.Routes {
		p := fmt.Sprintf("routes[%d]", i)
		v.route(p, r, apps, names)
	}
	if len(v.errs) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.errs}
}

type validator struct{ errs []*resource.FieldError }

func (v *validator) bad(path, format string, args ...any) {
	v.errs = append(v.errs, &resource.FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

func (v *validator) route(p string, r Route, apps, names map[string]bool) {
	if r.Name == "" {
		v.bad(p+".name", "must not be empty")
	} else if names[r.Name] {
		v.bad(p+".name", "duplicate route %q", r.Name)
	}
	names[r.Name] = true
	if strings.ContainsAny(r.Host, "/: ") || strings.Contains(strings.TrimPrefix(r.Host, "*."), "*") {
		v.bad(p+".host", "want a host name, \"*.\" + domain, or empty, got %q", r.Host)
	}
	if !strings.HasPrefix(r.PathPrefix, "/") {
		v.bad(p+".pathPrefix", "must start with /, got %q", r.PathPrefix)
	}
	if !apps[r.App] {
		v.bad(p+".app", "no app named %q", r.App)
	}
	v.policy(p+".policy", r.Policy)
}

func (v *validator) upstream(p string, u Upstream) {
	switch {
	case len(u.Addresses) == 0 && u.Service == nil:
		v.bad(p, "want addresses or service")
	case len(u.Addresses) > 0 && u.Service != nil:
		v.bad(p, "want addresses or service, not both")
	}
	for i, a := range u.Addresses {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || !validPort(port) {
			v.bad(fmt.Sprintf("%s.addresses[%d]", p, i), "want host:port, got %q", a)
		}
	}
	if s := u.Service; s != nil {
		if s.Namespace == "" {
			v.bad(p+".service.namespace", "must not be empty")
		}
		if s.Name == "" {
			v.bad(p+".service.name", "must not be empty")
		}
		if s.Port == "" {
			v.bad(p+".service.port", "must not be empty")
		}
	}
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}

func (v *validator) policy(p string, pol Policy) {
	if pol.Timeout.Duration < 0 {
		v.bad(p+".timeout", "must not be negative")
	}
	if pol.MaxBodyBytes < 0 {
		v.bad(p+".maxBodyBytes", "must not be negative")
	}
	if pol.Retries < 0 || pol.Retries > 5 {
		v.bad(p+".retries", "want 0-5, got %d", pol.Retries)
	}
	if rl := pol.RateLimit; rl != nil {
		v.rate(p+".rateLimit", rl.RequestsPerSecond, rl.Burst)
		if len(rl.Overrides) > 0 && rl.ByHeader == "" {
			v.bad(p+".rateLimit.overrides", "need byHeader")
		}
		for i, o := range rl.Overrides {
			op := fmt.Sprintf("%s.rateLimit.overrides[%d]", p, i)
			if o.Value == "" {
				v.bad(op+".value", "must not be empty")
			}
			v.rate(op, o.RequestsPerSecond, o.Burst)
		}
	}
	if cb := pol.CircuitBreaker; cb != nil {
		v.breaker(p+".circuitBreaker", cb)
	}
	if j := pol.JWT; j != nil {
		v.jwt(p+".jwt", j)
	}
}

func (v *validator) rate(p string, rps float64, burst int) {
	if rps <= 0 {
		v.bad(p+".requestsPerSecond", "must be positive")
	}
	if burst < 1 {
		v.bad(p+".burst", "must be at least 1")
	}
}

func (v *validator) breaker(p string, cb *CircuitBreaker) {
	ratio := func(name string, r float64) {
		if r < 0 || r > 1 {
			v.bad(p+"."+name, "want a ratio 0-1, got %v", r)
		}
	}
	ratio("failureRatio", cb.FailureRatio)
	ratio("slowCallRatio", cb.SlowCallRatio)
	if cb.FailureRatio == 0 && cb.SlowCallRatio == 0 {
		v.bad(p, "want failureRatio or slowCallRatio")
	}
	if cb.SlowCallRatio > 0 && cb.SlowCallDuration.Duration <= 0 {
		v.bad(p+".slowCallDuration", "must be positive when slowCallRatio is set")
	}
	for _, d := range []struct {
		name string
		d    resource.Duration
	}{{"window", cb.Window}, {"slowCallDuration", cb.SlowCallDuration}, {"openFor", cb.OpenFor}} {
		if d.d.Duration < 0 {
			v.bad(p+"."+d.name, "must not be negative")
		}
	}
	if cb.MinimumRequests < 0 {
		v.bad(p+".minimumRequests", "must not be negative")
	}
	if cb.HalfOpenProbes < 0 {
		v.bad(p+".halfOpenProbes", "must not be negative")
	}
}

func (v *validator) jwt(p string, j *JWT) {
	if j.HMACSecretFile == "" && len(j.RSAPublicKeys) == 0 && j.JWKSURL == "" {
		v.bad(p, "want hmacSecretFile, rsaPublicKeys or jwksURL")
	}
	if j.JWKSURL != "" {
		u, err := url.Parse(j.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.bad(p+".jwksURL", "want an http(s) URL, got %q", j.JWKSURL)
		}
	}
}
