// Package gateway is the Berth traffic gateway: an HTTP/1.1 and HTTP/2
// reverse proxy that routes by host and path prefix to applications, picks
// the stable or gray version of each by the rules of internal/traffic, and
// applies governance (rate limits, circuit breakers, JWT, size and time
// limits) without code changes in the applications.
//
// Configuration is data (Caddy's Load): Decode checks it strictly with field
// paths, Gateway.Load builds a routing table from it and swaps it in
// atomically; an identical configuration is a no-op and a bad one leaves the
// running one in place. docs/gateway.md is the reference.
package gateway

import (
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
)

// Config is the whole routing configuration of a gateway. It is what the
// Berth server streams to gateways and what `berth gateway --config` reads.
type Config struct {
	// Routes are matched by host, then by the longest path prefix.
	Routes []Route `json:"routes"`
	// Apps are the applications routes send traffic to.
	Apps []App `json:"apps"`
}

// Route sends the requests for a host and path prefix to an application,
// under a governance policy.
type Route struct {
	// Name is unique; it labels metrics and access logs.
	Name string `json:"name"`
	// Host is matched case-insensitively without the port; "" matches any
	// host and "*.example.com" any subdomain of example.com.
	Host string `json:"host,omitempty"`
	// PathPrefix starts with "/". "/api" matches "/api" and "/api/..." but
	// not "/apix".
	PathPrefix string `json:"pathPrefix"`
	// StripPrefix removes PathPrefix before forwarding.
	StripPrefix bool `json:"stripPrefix,omitempty"`
	// App names the application in Apps.
	App string `json:"app"`
	// Policy is the governance applied to this route.
	Policy Policy `json:"policy,omitempty"`
}

// App is one application with its stable and (optional) gray version.
type App struct {
	Name   string    `json:"name"`
	Stable Upstream  `json:"stable"`
	Gray   *Upstream `json:"gray,omitempty"`
	// Traffic decides stable or gray per request; without Gray everything
	// goes to stable.
	Traffic traffic.Rules `json:"traffic,omitempty"`
	// Health is passive health checking of this app's endpoints.
	Health Health `json:"health,omitempty"`
}

// Upstream is where a version runs: static addresses, or a Kubernetes
// Service whose EndpointSlices the gateway follows.
type Upstream struct {
	Addresses []string    `json:"addresses,omitempty"`
	Service   *ServiceRef `json:"service,omitempty"`
}

// ServiceRef names a Kubernetes Service port.
type ServiceRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Port is the port's name, or its number as a string.
	Port string `json:"port"`
}

func (s ServiceRef) String() string { return s.Namespace + "/" + s.Name + ":" + s.Port }

// Health ejects an endpoint after ConsecutiveFailures failures in a row
// (connection errors, 502, 503, 504) for EjectFor.
type Health struct {
	ConsecutiveFailures int               `json:"consecutiveFailures,omitempty"`
	EjectFor            resource.Duration `json:"ejectFor,omitempty"`
}

// Policy is a route's governance. Every part is optional.
type Policy struct {
	// Timeout bounds the whole exchange with the upstream; 504 after it.
	Timeout resource.Duration `json:"timeout,omitempty"`
	// MaxBodyBytes bounds the request body; 413 beyond it. 0 means no limit.
	MaxBodyBytes int64 `json:"maxBodyBytes,omitempty"`
	// Retries is how many other endpoints an idempotent request without a
	// body is retried on after a connection error.
	Retries        int             `json:"retries,omitempty"`
	RateLimit      *RateLimit      `json:"rateLimit,omitempty"`
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	JWT            *JWT            `json:"jwt,omitempty"`
}

// RateLimit is a token bucket: RequestsPerSecond refill, Burst capacity.
// With ByHeader each value of that header (e.g. each branch) has its own
// bucket; Overrides give chosen values their own rate.
type RateLimit struct {
	RequestsPerSecond float64        `json:"requestsPerSecond"`
	Burst             int            `json:"burst"`
	ByHeader          string         `json:"byHeader,omitempty"`
	Overrides         []RateOverride `json:"overrides,omitempty"`
}

// RateOverride is the bucket of one header value.
type RateOverride struct {
	Value             string  `json:"value"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	Burst             int     `json:"burst"`
}

// CircuitBreaker follows resilience4j's time-based sliding window; see
// internal/gateway/breaker.
type CircuitBreaker struct {
	// ByHeader gives each value of the header its own breaker.
	ByHeader string `json:"byHeader,omitempty"`
	// Window is the sliding window over which ratios are computed.
	Window resource.Duration `json:"window,omitempty"`
	// MinimumRequests in the window before the ratios are judged.
	MinimumRequests int `json:"minimumRequests,omitempty"`
	// FailureRatio (0-1] opens the breaker; failures are 5xx and
	// connection errors. 0 disables it.
	FailureRatio float64 `json:"failureRatio,omitempty"`
	// SlowCallDuration makes a call slow; SlowCallRatio (0-1] of slow calls
	// opens the breaker. 0 disables it.
	SlowCallDuration resource.Duration `json:"slowCallDuration,omitempty"`
	SlowCallRatio    float64           `json:"slowCallRatio,omitempty"`
	// OpenFor is how long the breaker rejects calls before half-opening.
	OpenFor resource.Duration `json:"openFor,omitempty"`
	// HalfOpenProbes is how many calls are let through when half-open.
	HalfOpenProbes int `json:"halfOpenProbes,omitempty"`
}

// JWT requires a valid bearer token. Keys come from any of an HMAC secret
// file (HS256), PEM public keys (RS256) or a JWKS URL (RS256).
type JWT struct {
	HMACSecretFile string   `json:"hmacSecretFile,omitempty"`
	RSAPublicKeys  []string `json:"rsaPublicKeys,omitempty"`
	JWKSURL        string   `json:"jwksURL,omitempty"`
	Issuer         string   `json:"issuer,omitempty"`
	Audience       string   `json:"audience,omitempty"`
}
