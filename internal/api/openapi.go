package api

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/live"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/terminal"
)

// schemaTypes are the named schemas routes refer to.
var schemaTypes = map[string]reflect.Type{
	"Tenant":                reflect.TypeFor[tenancy.Tenant](),
	"Project":               reflect.TypeFor[tenancy.Project](),
	"Environment":           reflect.TypeFor[tenancy.Environment](),
	"Cluster":               reflect.TypeFor[tenancy.Cluster](),
	"ClusterView":           reflect.TypeFor[apitypes.ClusterView](),
	"ClusterRequest":        reflect.TypeFor[apitypes.ClusterRequest](),
	"Quota":                 reflect.TypeFor[tenancy.Quota](),
	"Usage":                 reflect.TypeFor[tenancy.Usage](),
	"Member":                reflect.TypeFor[tenancy.Member](),
	"NamespaceGrant":        reflect.TypeFor[tenancy.NamespaceGrant](),
	"ApprovalFloor":         reflect.TypeFor[tenancy.ApprovalFloor](),
	"Application":           reflect.TypeFor[apps.Application](),
	"Version":               reflect.TypeFor[apps.Version](),
	"Tier":                  reflect.TypeFor[apps.Tier](),
	"User":                  reflect.TypeFor[identity.User](),
	"UserRequest":           reflect.TypeFor[apitypes.UserRequest](),
	"Token":                 reflect.TypeFor[identity.Token](),
	"TokenRequest":          reflect.TypeFor[apitypes.TokenRequest](),
	"PasswordRequest":       reflect.TypeFor[apitypes.PasswordRequest](),
	"TokenCreated":          reflect.TypeFor[apitypes.TokenCreated](),
	"LoginRequest":          reflect.TypeFor[apitypes.LoginRequest](),
	"SSOTokenRequest":       reflect.TypeFor[apitypes.SSOTokenRequest](),
	"LoginResponse":         reflect.TypeFor[apitypes.LoginResponse](),
	"WhoAmI":                reflect.TypeFor[apitypes.WhoAmI](),
	"Permissions":           reflect.TypeFor[apitypes.Permissions](),
	"AuditRecord":           reflect.TypeFor[audit.Record](),
	"VerifyReport":          reflect.TypeFor[apitypes.VerifyReport](),
	"VerifyRequest":         reflect.TypeFor[apitypes.VerifyRequest](),
	"ApplyResult":           reflect.TypeFor[apitypes.ApplyResult](),
	"Error":                 reflect.TypeFor[apitypes.ErrorBody](),
	"PortView":              reflect.TypeFor[netasset.PortView](),
	"Grant":                 reflect.TypeFor[netasset.Grant](),
	"PortsRequest":          reflect.TypeFor[apitypes.PortsRequest](),
	"ExposeRequest":         reflect.TypeFor[apitypes.ExposeRequest](),
	"Allocation":            reflect.TypeFor[netasset.Allocation](),
	"Isolation":             reflect.TypeFor[netasset.Isolation](),
	"Bandwidth":             reflect.TypeFor[apps.Bandwidth](),
	"BandwidthView":         reflect.TypeFor[netasset.BandwidthView](),
	"GrayPlanView":          reflect.TypeFor[apitypes.GrayPlanView](),
	"GrayStartRequest":      reflect.TypeFor[apitypes.GrayStartRequest](),
	"GrayGroupView":         reflect.TypeFor[apitypes.GrayGroupView](),
	"GrayGroupStartRequest": reflect.TypeFor[apitypes.GrayGroupStartRequest](),
	"GrayStepRequest":       reflect.TypeFor[apitypes.GrayStepRequest](),
	"GrayChange":            reflect.TypeFor[gray.Change](),
	"GrayPromoteRequest":    reflect.TypeFor[apitypes.GrayPromoteRequest](),
	"GrayAbortRequest":      reflect.TypeFor[apitypes.GrayAbortRequest](),
	"OrgUnit":               reflect.TypeFor[gray.OrgUnit](),
	"OrgImportRequest":      reflect.TypeFor[apitypes.OrgImportRequest](),
	"GatewayConfig":         reflect.TypeFor[map[string]any](), // internal/gateway.Config, see docs/gateway.md
	"GatewayApplied":        reflect.TypeFor[apitypes.GatewayApplied](),
	"GatewayDeliveries":     reflect.TypeFor[apitypes.GatewayDeliveries](),
	"CurrentVersion":        reflect.TypeFor[apitypes.CurrentVersion](),
	"DeploymentView":        reflect.TypeFor[apitypes.DeploymentView](),
	"DeployRequest":         reflect.TypeFor[apitypes.DeployRequest](),
	"ScaleRequest":          reflect.TypeFor[apitypes.ScaleRequest](),
	"OrderView":             reflect.TypeFor[apitypes.OrderView](),
	"ReleaseRequest":        reflect.TypeFor[apitypes.ReleaseRequest](),
	"ApproveRequest":        reflect.TypeFor[apitypes.ApproveRequest](),
	"AbortRequest":          reflect.TypeFor[apitypes.AbortRequest](),
	"RollbackRequest":       reflect.TypeFor[release.RollbackRequest](),
	"LiveEvent":             reflect.TypeFor[live.Event](),
	"GroupBinding":          reflect.TypeFor[sso.GroupBinding](),
	"SSOProviders":          reflect.TypeFor[[]sso.ProviderInfo](),

	"TerminalExecRequest": reflect.TypeFor[apitypes.TerminalExecRequest](),
	"TerminalExecResult":  reflect.TypeFor[apitypes.TerminalExecResult](),
	"LogSearchResult":     reflect.TypeFor[apitypes.LogSearchResult](),
	"TerminalSession":     reflect.TypeFor[terminal.Session](),
	"TerminalSessionView": reflect.TypeFor[apitypes.TerminalSessionView](),
	"TerminalMessage":     reflect.TypeFor[apitypes.TerminalMessage](),
	// The config center (configs.go).
	"ConfigItemView":        reflect.TypeFor[apitypes.ConfigItemView](),
	"ConfigRevisionView":    reflect.TypeFor[apitypes.ConfigRevisionView](),
	"ConfigPublishRequest":  reflect.TypeFor[apitypes.ConfigPublishRequest](),
	"ConfigRollbackRequest": reflect.TypeFor[apitypes.ConfigRollbackRequest](),
	"ConfigRejectRequest":   reflect.TypeFor[apitypes.ConfigRejectRequest](),
	"ConfigDiff":            reflect.TypeFor[apitypes.ConfigDiff](),
	// Pipelines (pipelines.go).
	"PipelineSpec":    reflect.TypeFor[apitypes.PipelineSpec](),
	"PipelineView":    reflect.TypeFor[apitypes.PipelineView](),
	"PipelineApplied": reflect.TypeFor[apitypes.PipelineApplied](),
	"PipelineRun":     reflect.TypeFor[pipeline.Run](),
	"RunRequest":      reflect.TypeFor[apitypes.RunRequest](),
	"DecisionRequest": reflect.TypeFor[apitypes.DecisionRequest](),
	"RunLog":          reflect.TypeFor[apitypes.RunLog](),
	"WebhookResult":   reflect.TypeFor[apitypes.WebhookResult](),
	"GitPush":         reflect.TypeFor[map[string]any](), // the Git server's push event, as it sends it
	// Alerting (alerts.go).
	"SLO":                      reflect.TypeFor[apitypes.SLO](),
	"SLOs":                     reflect.TypeFor[[]apitypes.SLO](),
	"SLOBudget":                reflect.TypeFor[apitypes.SLOBudget](),
	"AppDashboard":             reflect.TypeFor[apitypes.AppDashboard](),
	"AlertRule":                reflect.TypeFor[apitypes.AlertRule](),
	"AlertRules":               reflect.TypeFor[[]apitypes.AlertRule](),
	"StoreCharts":              reflect.TypeFor[[]apitypes.StoreChart](),
	"InstallRequest":           reflect.TypeFor[apitypes.InstallRequest](),
	"Installs":                 reflect.TypeFor[[]apitypes.Install](),
	"AlertReceiver":            reflect.TypeFor[apitypes.AlertReceiver](),
	"AlertReceivers":           reflect.TypeFor[[]apitypes.AlertReceiver](),
	"Silence":                  reflect.TypeFor[apitypes.Silence](),
	"Silences":                 reflect.TypeFor[[]apitypes.Silence](),
	"SilenceRequest":           reflect.TypeFor[apitypes.SilenceRequest](),
	"Alert":                    reflect.TypeFor[apitypes.Alert](),
	"Alerts":                   reflect.TypeFor[[]apitypes.Alert](),
	"AlertEvent":               reflect.TypeFor[apitypes.AlertEvent](),
	"AlertHistory":             reflect.TypeFor[[]apitypes.AlertEvent](),
	"AckRequest":               reflect.TypeFor[apitypes.AckRequest](),
	"AlertmanagerNotification": reflect.TypeFor[apitypes.AlertmanagerNotification](),
}

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI returns the OpenAPI 3 document of the registered routes.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range a.routes {
		p := Prefix + rt.Path
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.Method)] = operation(rt)
	}
	schemas := map[string]any{}
	for name, t := range schemaTypes {
		schemas[name] = schemaOf(t)
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "Berth API",
			"version":     "v1",
			"description": "Berth's REST/JSON API. Authenticate with a bearer API token (POST /api/v1/login with a token request) or a console session cookie plus the X-CSRF-Token header on changes. Errors are {code, message, fields, requestId}; lists are {items, continue} and take limit and continue.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}},
	}
}

func operation(rt Route) map[string]any {
	op := map[string]any{"summary": rt.Summary, "operationId": operationID(rt)}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range rt.Query {
		params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.Public {
		op["security"] = []any{}
	}
	switch rt.Request {
	case "":
	case "Manifest":
		op["requestBody"] = map[string]any{"required": !rt.OptionalBody, "content": map[string]any{
			"application/yaml": map[string]any{"schema": map[string]any{"type": "string", "description": "multi-document berth.dev/v1 YAML"}}}}
	default:
		op["requestBody"] = map[string]any{"required": !rt.OptionalBody, "content": map[string]any{
			"application/json": map[string]any{"schema": ref(rt.Request)}}}
	}
	ok := map[string]any{"description": "success"}
	switch {
	case rt.Response == "none":
	case rt.Response == "AuditExport":
		ok["content"] = map[string]any{
			"application/x-ndjson": map[string]any{"schema": map[string]any{"type": "string"}},
			"text/csv":             map[string]any{"schema": map[string]any{"type": "string"}},
		}
	case rt.Response == "LiveEvents":
		ok["content"] = map[string]any{eventStream: map[string]any{"schema": map[string]any{"type": "string",
			"description": "server-sent events: retry: 3000 first; each event has id <boot>-<seq>, event <topic> and " +
				"data a LiveEvent; event reset (data {}) asks the client to reload its views; a comment \": ping <when the bindings in force were read, Unix ns>\" every 15 s"}}}
	case rt.Response == "TerminalRecording":
		ok["content"] = map[string]any{"application/x-asciicast": map[string]any{"schema": map[string]any{"type": "string",
			"description": "asciicast v2: a header line, then [time, \"o\"|\"i\", data] events; header X-Recording-Sha256"}}}
	case rt.Response == "TerminalSocket":
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref("TerminalMessage")}}
		ok["description"] = "WebSocket: each message, either way, is a TerminalMessage as JSON text"
	case rt.Response == "OpenAPI":
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
	case strings.HasPrefix(rt.Response, "List["):
		item := strings.TrimSuffix(strings.TrimPrefix(rt.Response, "List["), "]")
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{
			"type": "object", "required": []string{"items"},
			"properties": map[string]any{"items": map[string]any{"type": "array", "items": ref(item)}, "continue": map[string]any{"type": "string"}},
		}}}
	default:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.Response)}}
	}
	if rt.Events {
		content, _ := ok["content"].(map[string]any)
		content[eventStream] = map[string]any{"schema": map[string]any{"type": "string", "description": "server-sent events"}}
	}
	errResp := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
	op["responses"] = map[string]any{strconv.Itoa(successStatus(rt)): ok, "default": errResp}
	return op
}

// eventStream is the media type of server-sent events.
const eventStream = "text/event-stream"

// successStatus is the status rt answers on success.
func successStatus(rt Route) int {
	switch {
	case rt.Status != 0:
		return rt.Status
	case rt.Response == "none":
		return http.StatusNoContent
	case rt.Method == "POST" && rt.Request != "" && rt.Request != "Manifest" && rt.Request != "LoginRequest":
		return http.StatusCreated
	}
	return http.StatusOK
}

func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.Split(rt.Path, "/") {
		part = strings.Trim(part, "{}")
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + strings.ReplaceAll(part[1:], ".", ""))
	}
	return b.String()
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

var (
	rawType      = reflect.TypeFor[json.RawMessage]()
	timeType     = reflect.TypeFor[time.Time]()
	quantityType = reflect.TypeFor[resource.Quantity]()
	portSetType  = reflect.TypeFor[netasset.PortSet]()
	durationType = reflect.TypeFor[resource.Duration]()
)

// schemaOf describes t as an OpenAPI schema, inline.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == rawType:
		return map[string]any{"description": "any JSON value", "nullable": true}
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == quantityType:
		return map[string]any{"type": "string", "description": "quantity: 500m, 2, 4Gi"}
	case t == portSetType:
		return map[string]any{"type": "string", "description": "ports as compact ranges: 30061-30062, 30064"}
	case t == durationType:
		return map[string]any{"type": "string", "description": "duration: 90s, 5m, 1h"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": valueSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": valueSchema(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		addFields(t, props)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{"description": "any JSON value", "nullable": true}
}

// valueSchema is schemaOf(t), nullable when encoding/json writes null for
// a nil t: a pointer, interface, or a slice or map without a marshaler.
func valueSchema(t reflect.Type) map[string]any {
	s := schemaOf(t)
	if encodesNull(t) {
		s["nullable"] = true
	}
	return s
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func encodesNull(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		return true
	case reflect.Slice, reflect.Map:
		return !t.Implements(jsonMarshaler) && !t.Implements(textMarshaler)
	}
	return false
}

func addFields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			addFields(f.Type, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if slices.Contains(strings.Split(opts, ","), "omitempty") {
			// A nil value is left out, never written as null.
			props[name] = schemaOf(f.Type)
			continue
		}
		props[name] = valueSchema(f.Type)
	}
}

func (a *API) openAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a.OpenAPI())
}

// routeKeys returns "METHOD /api/v1/path" of every route, sorted.
func (a *API) routeKeys() []string {
	var keys []string
	for _, rt := range a.routes {
		keys = append(keys, rt.Method+" "+Prefix+rt.Path)
	}
	slices.Sort(keys)
	return keys
}
