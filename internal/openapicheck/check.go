// Package openapicheck holds an API's tests to its OpenAPI document: every
// request a test sends and every response it receives is validated by an
// independent validator (kin-openapi's openapi3filter) against the document
// the server under test serves, and a mismatch fails the test.
//
// It is test support: [Transport] validates the exchanges of a Go client,
// [StartProxy] those of processes that cannot take a Go transport (a CLI or
// gateway subprocess), and [Doc.Check] validates one exchange.
//
// The document is read more strictly than OpenAPI's defaults: an object
// schema that lists properties and says nothing of others admits no others,
// so a field the server sends that the document does not name is a mismatch;
// a success status (below 400) must be declared for the operation itself,
// not only by its default response; and a body whose media type the
// operation does not declare is a mismatch. JSON bodies are validated
// against their schemas; the content of others (a YAML manifest, CSV,
// JSON lines, a stream of server-sent events) is the server's to parse,
// and only their media type is checked.
package openapicheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// EventStream is the media type of server-sent events. A response of this
// type is a stream: its status and media type are checked, its body is not.
const EventStream = "text/event-stream"

// Doc is a loaded OpenAPI 3 document that checks exchanges against it. It
// is safe for concurrent use.
type Doc struct {
	doc    *openapi3.T
	router routers.Router
}

// loaded keeps every document loaded, by the SHA-256 of its bytes: the
// suites load the same document once per server under test.
var loaded sync.Map // [sha256.Size]byte → *Doc

// Load parses and validates an OpenAPI 3 document. It does not keep data.
func Load(data []byte) (*Doc, error) {
	key := sha256.Sum256(data)
	if d, ok := loaded.Load(key); ok {
		return d.(*Doc), nil
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("parse the OpenAPI document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	closeObjects(doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	d, _ := loaded.LoadOrStore(key, &Doc{doc: doc, router: router})
	return d.(*Doc), nil
}

// Fetch loads the document served at url.
func Fetch(ctx context.Context, client *http.Client, url string) (*Doc, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the OpenAPI document: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch the OpenAPI document: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the OpenAPI document: status %d: %s", resp.StatusCode, data)
	}
	return Load(data)
}

// Check validates one exchange: req with its body reqBody against the
// operation it names (path, parameters, body), and resp with its body
// respBody against the responses that operation declares (status, media
// type, body). A request the document refuses is a mismatch only when the
// server did not refuse it too (with a 4xx); a request for no operation of
// the document likewise, unless answered 404 or 405. Check reads neither
// req.Body nor resp.Body and changes neither.
func (d *Doc) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	refused := resp.StatusCode >= 400 && resp.StatusCode < 500
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("request: %w", err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    withBody(req, reqBody),
		PathParams: params,
		Route:      route,
		Options:    options(),
	}
	if err := checkRequest(in, reqBody); err != nil && !refused {
		return fmt.Errorf("request (answered %d): %w", resp.StatusCode, err)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	return checkResponse(req.Context(), in, resp, respBody)
}

func checkRequest(in *openapi3filter.RequestValidationInput, body []byte) error {
	ctype := in.Request.Header.Get("Content-Type")
	if rb := in.Route.Operation.RequestBody; len(body) > 0 && !isJSON(ctype) && rb != nil && rb.Value != nil {
		// A body that is not JSON (a YAML manifest): its media type is
		// checked, its content is the server's to parse.
		if rb.Value.Content.Get(ctype) == nil {
			return fmt.Errorf("request body: media type %q is not declared", ctype)
		}
		in.Options.ExcludeRequestBody = true
	}
	return openapi3filter.ValidateRequest(in.Request.Context(), in)
}

// isJSON says whether a body of media type ctype is validated as JSON;
// the bodies of other types (YAML, CSV, JSON lines, event streams) are not.
func isJSON(ctype string) bool {
	mt, _, _ := mime.ParseMediaType(ctype)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func checkResponse(ctx context.Context, in *openapi3filter.RequestValidationInput, resp *http.Response, body []byte) error {
	responses := in.Route.Operation.Responses
	declared := responses.Status(resp.StatusCode)
	if declared == nil && resp.StatusCode >= 400 {
		declared = responses.Default()
	}
	if declared == nil || declared.Value == nil {
		return fmt.Errorf("response: status %d is not declared", resp.StatusCode)
	}
	ctype := resp.Header.Get("Content-Type")
	content := declared.Value.Content
	if len(content) == 0 {
		if len(body) > 0 {
			return fmt.Errorf("response: status %d declares no body, got %q", resp.StatusCode, ctype)
		}
		return nil
	}
	if content.Get(ctype) == nil {
		return fmt.Errorf("response: status %d does not declare media type %q", resp.StatusCode, ctype)
	}
	opts := options()
	opts.IncludeResponseStatus = true
	opts.ExcludeResponseBody = !isJSON(ctype)
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("response: %w", unwrapResponse(err))
	}
	return nil
}

// unwrapResponse drops the request input a ResponseError prints nothing of.
func unwrapResponse(err error) error {
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		return fmt.Errorf("%s: %w", re.Reason, re.Err)
	}
	return err
}

func options() *openapi3filter.Options {
	return &openapi3filter.Options{
		AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
		RejectWhenRequestBodyNotSpecified: true,
		SkipSettingDefaults:               true,
		// The value's path and the reason; not the whole schema and body.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
}

// withBody is a shallow copy of req that reads body.
func withBody(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = http.NoBody
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.ContentLength = int64(len(body))
	return r
}

// closeObjects makes every object schema of doc that lists properties and
// says nothing of others refuse others.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	for _, s := range doc.Components.Schemas {
		closeSchema(s, seen)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					closeSchema(mt.Schema, seen)
				}
			}
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					closeSchema(mt.Schema, seen)
				}
			}
		}
	}
}

func closeSchema(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
		no := false
		s.AdditionalProperties.Has = &no
	}
	for _, p := range s.Properties {
		closeSchema(p, seen)
	}
	closeSchema(s.Items, seen)
	closeSchema(s.AdditionalProperties.Schema, seen)
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		for _, r := range group {
			closeSchema(r, seen)
		}
	}
}

// CheckSchema validates the JSON value data against the component schema
// of that name, as a response.
func (d *Doc) CheckSchema(name string, data []byte) error {
	ref := d.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("no schema %q", name)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	return ref.Value.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.DisableSchemaErrorDetails())
}
