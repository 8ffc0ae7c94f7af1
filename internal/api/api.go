// Package api is Berth's REST/JSON API under /api/v1: authentication
// (console sessions with CSRF protection, API tokens for the CLI),
// authorization on every endpoint through internal/authz, and the one
// function that turns errors into status codes and public messages.
//
// Handlers are func(w, r) error and are registered through [API.route],
// which also records them for the OpenAPI document served at
// /api/v1/openapi.json.
package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/live"
	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// MaxBody bounds JSON request bodies; manifests may be larger (MaxManifest).
const (
	MaxBody     = 1 << 20
	MaxManifest = 4 << 20
	// MaxOrgImport bounds an org directory import: a CSV of
	// gray.MaxOrgCSVBytes, each byte of which JSON may escape into six
	// ("&" is "\u0026"), so the CSV's own limit is the one users meet.
	MaxOrgImport = 6*gray.MaxOrgCSVBytes + MaxBody
)

// Options configure an API.
type Options struct {
	Log      *slog.Logger
	Platform *platform.Platform
	Clock    clock.Clock // default: the platform's clock
	// Limits of failed logins; zero values take the defaults of [NewLimiter].
	Limiter *Limiter
	// TrustedProxies are the networks of the reverse proxies in front of
	// the API: from a peer in one of them, the client address is the
	// right-most X-Forwarded-For hop outside them (see [ClientAddr]).
	// Empty: X-Forwarded-For is ignored. The API keeps the slice.
	TrustedProxies []netip.Prefix
	// Live reads the clusters; nil serves deployments without live status
	// and without refusing changes to unreachable clusters.
	Live Live
	// Gateway is the configuration stream of Berth gateways; nil serves an
	// empty configuration.
	Gateway GatewayStream
	// Events is the hub of the live event stream (GET /events); nil
	// answers it 404.
	Events *live.Hub
	// Heartbeat is how often an idle event stream sends a comment and
	// re-checks the caller (default DefaultHeartbeat).
	Heartbeat time.Duration
	// OIDC are the OpenID Connect providers the console signs in with
	// (/sso/{provider}/start); the API keeps the slice.
	OIDC []sso.RedirectProvider
	// ConfigWatch wakes Nacos listeners when configuration items change;
	// nil answers long-polls at once.
	ConfigWatch *configcenter.Watch
	// Changes, when set, lets the Nacos protocols remember who a
	// credential is until a committed change could alter it (nacos_auth.go);
	// nil: every Nacos request reads it.
	Changes *change.Bus
}

// API serves /api/v1.
type API struct {
	log       *slog.Logger
	p         *platform.Platform
	clock     clock.Clock
	limiter   *Limiter
	proxies   []netip.Prefix
	trust     bool // behind trusted proxies: X-Forwarded-Proto counts
	mux       *http.ServeMux
	routes    []Route
	live      Live
	gateway   GatewayStream
	hub       *live.Hub
	heartbeat time.Duration
	oidc      []sso.RedirectProvider
	terminals slots // interactive terminals (terminal.go)
	// The config center's Nacos listeners (nacos_listen.go, nacos_grpc.go).
	watch   *configcenter.Watch
	parked  slots    // parked long-polls (nacos_listen.go)
	callers *callers // who Nacos credentials are (nacos_auth.go)
	// logSearches bounds the log searches running at once (logs.go).
	logSearches slots
}

// HandlerFunc is an API handler: it writes a success response or returns
// an error for [writeError].
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Route describes one endpoint for the mux and the OpenAPI document.
type Route struct {
	Method  string
	Path    string // under Prefix, in ServeMux syntax: /tenants/{tenant}
	Summary string
	// Public routes need no authentication (login, the OpenAPI document).
	Public bool
	// Request and Response name the schemas of the body and the answer.
	Request, Response string
	// Query lists the query parameters.
	Query []string
	// Status is the success status when it is not the usual one: 204 for
	// Response "none", 201 for a POST that takes a JSON body, 200 otherwise.
	Status int
	// OptionalBody: the request body may be left out.
	OptionalBody bool
	// Events: the success answer may instead be a stream of server-sent
	// events (text/event-stream), as the summary says when.
	Events bool
}

// New returns the API with every route registered.
func New(o Options) *API {
	a := &API{log: o.Log, p: o.Platform, clock: o.Clock, limiter: o.Limiter, proxies: o.TrustedProxies, trust: len(o.TrustedProxies) > 0, mux: http.NewServeMux(), live: o.Live, gateway: o.Gateway,
		hub: o.Events, heartbeat: o.Heartbeat}
	if a.heartbeat <= 0 {
		a.heartbeat = DefaultHeartbeat
	}
	if a.clock == nil {
		a.clock = o.Platform.Clock
	}
	if a.limiter == nil {
		a.limiter = NewLimiter(a.clock, LimiterOptions{})
	}
	a.oidc = o.OIDC
	a.watch = o.ConfigWatch
	a.callers = newCallers(o.Changes, a.clock.Now)
	a.terminals.perUser, a.terminals.max = MaxTerminalsPerUser, MaxTerminals
	a.parked.perUser, a.parked.max = MaxParkedPerCaller, MaxParked
	a.logSearches.perUser, a.logSearches.max = MaxLogSearchesPerUser, MaxLogSearches
	a.registerAuth()
	a.registerTenancy()
	a.registerClusters()
	a.registerApps()
	a.registerDeployments()
	a.registerGray()
	a.registerReleases()
	a.registerGrayGroups()
	a.registerIdentity()
	a.registerSSO()
	a.registerAudit()
	a.registerNetwork()
	a.registerApply()
	a.registerEvents()
	a.registerTerminal()
	a.registerLogs()
	a.registerConfigs()
	a.registerPipelines()
	a.registerAlerts()
	a.registerStore()
	a.registerSLOs()
	a.registerDashboards()
	a.route(Route{Method: "GET", Path: "/openapi.json", Summary: "This OpenAPI document", Public: true, Response: "OpenAPI"}, a.openAPI)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, errNotFound)
	})
	a.methodNotAllowed()
	return a
}

// methodNotAllowed answers other methods on every route's path with the
// API's error body and an Allow header, instead of the mux's plain text.
func (a *API) methodNotAllowed() {
	allow := map[string][]string{}
	var paths []string
	for _, rt := range a.routes {
		if allow[rt.Path] == nil {
			paths = append(paths, rt.Path)
		}
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
	}
	for _, p := range paths {
		methods := strings.Join(allow[p], ", ")
		a.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			a.writeError(w, r, errMethod)
		})
	}
}

// Routes returns the registered routes in registration order.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// ServeHTTP serves requests whose path starts with Prefix.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, Prefix)
	r2.URL.RawPath = ""
	if r2.URL.Path == "" {
		r2.URL.Path = "/"
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	ctx := context.WithValue(r2.Context(), requestIDKey{}, id)
	a.mux.ServeHTTP(w, r2.WithContext(ctx))
}

// route registers h for rt through the one wrapper: request ID, body
// limit, authentication, the error mapping.
func (a *API) route(rt Route, h HandlerFunc) {
	a.routes = append(a.routes, rt)
	a.mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
		limit := int64(MaxBody)
		switch rt.Request {
		case "Manifest":
			limit = MaxManifest
		case "OrgImportRequest":
			limit = MaxOrgImport
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		decided := new(bool)
		if !rt.Public {
			p, err := a.authenticate(r)
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			ctx := context.WithValue(r.Context(), principalKey{}, p)
			r = r.WithContext(context.WithValue(ctx, decidedKey{}, decided))
		}
		err := h(w, r)
		if err != nil {
			a.writeError(w, r, err)
		}
		if !rt.Public && !*decided {
			// A handler that reached no authorization decision is a bug;
			// the role matrix test fails on this message.
			a.log.Error(undecided, "route", rt.Method+" "+rt.Path, "request_id", requestID(r))
		}
	})
}

type requestIDKey struct{}

// decidedKey holds a *bool set once a handler decided on authorization.
type decidedKey struct{}

// undecided is logged when an authenticated handler made no decision.
const undecided = "api handler made no authorization decision"

// decide records that the request's authorization was decided: by
// [API.authorize], by filtering on the caller's bindings, or because the
// endpoint acts on the caller's own account only.
func decide(r *http.Request) {
	if d, ok := r.Context().Value(decidedKey{}).(*bool); ok {
		*d = true
	}
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// sourceIP is the client's address without the port: the peer's, or
// behind trusted proxies the first hop from the right of X-Forwarded-For
// that is not one of them. Login limiting and the audit trail use it.
func (a *API) sourceIP(r *http.Request) string {
	return ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), a.proxies)
}

// decode reads a JSON body into v strictly: unknown fields are field errors.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errUnsupportedMedia
		}
	}
	body, err := io.ReadAll(r.Body) // bounded by the route's MaxBytesReader
	if err != nil {
		return badJSON(err)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return locate(badJSON(err), body, v)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return &httpError{status: http.StatusBadRequest, code: "bad_request", cause: errors.New("trailing data after the JSON body")}
	}
	return nil
}

// decodeOptional is decode for bodies that may be left out entirely.
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return badJSON(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return decode(r, v)
}

// locate turns err, a refusal of body that names no field (a value its own
// type refused, such as a malformed quantity), into field errors naming
// where in body the bad values are, checked against v's type. Other
// errors pass through.
func locate(err error, body []byte, v any) error {
	var he *httpError
	if !errors.As(err, &he) || he.code != "bad_request" {
		return err
	}
	var ve *resource.ValidationError
	if ferr := manifest.CheckJSON(body, reflect.TypeOf(v)); errors.As(ferr, &ve) {
		return ve
	}
	return err
}

func badJSON(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: te.Field, Reason: "must be a " + te.Type.String()}}}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: strings.Trim(f, `"`), Reason: "unknown field"}}}
	}
	var ve *resource.ValidationError
	if errors.As(err, &ve) {
		return err
	}
	return &httpError{status: http.StatusBadRequest, code: "bad_request", cause: fmt.Errorf("decode body: %w", err)}
}

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	return json.NewEncoder(w).Encode(v)
}

func writePage[T any](w http.ResponseWriter, p resource.Page[T]) error {
	if p.Items == nil {
		p.Items = []T{}
	}
	return writeJSON(w, http.StatusOK, apitypes.List[T]{Items: p.Items, Continue: p.Continue})
}

// listOptions reads ?limit= and ?continue=.
func listOptions(r *http.Request) (resource.ListOptions, error) {
	o := resource.ListOptions{Continue: r.URL.Query().Get("continue")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return o, &resource.ValidationError{Fields: []resource.FieldError{{Path: "limit", Reason: "must be a non-negative whole number"}}}
		}
		o.Limit = n
	}
	return o, nil
}

// rv reads ?resourceVersion= (0 when absent: no version check).
func rv(r *http.Request) (int64, error) {
	s := r.URL.Query().Get("resourceVersion")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, &resource.ValidationError{Fields: []resource.FieldError{{Path: "resourceVersion", Reason: "must be a non-negative whole number"}}}
	}
	return n, nil
}

// parseTime reads an RFC 3339 time or a date from query parameter name.
func parseTime(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: name, Reason: "must be an RFC 3339 time or a date (2006-01-02)"}}}
}
