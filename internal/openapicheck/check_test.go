package openapicheck

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// petDoc is a small hand-written document: GET /pets/{id} answers a Pet,
// POST /pets takes a Pet and answers 201, errors are Problems.
const petDoc = `{
  "openapi": "3.0.3",
  "info": {"title": "pets", "version": "1"},
  "paths": {
    "/pets/{id}": {"get": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
      "responses": {
        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
        "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
      }}},
    "/pets": {"post": {
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
      "responses": {
        "201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
        "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
      }}},
    "/pets/{id}/feed": {"post": {
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "responses": {"204": {"description": "fed"}}}},
    "/feed": {"get": {
      "responses": {"200": {"description": "ok", "content": {
        "application/json": {"schema": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        "text/event-stream": {"schema": {"type": "string"}}}}}}}
  },
  "components": {"schemas": {
    "Pet": {"type": "object", "required": ["name"], "properties": {
      "name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}, "nullable": true}}},
    "Problem": {"type": "object", "properties": {"code": {"type": "string"}}}
  }}
}`

// answer is what the test server answers to one method and path.
type answer struct {
	status int
	ctype  string
	body   string
}

// serve starts a loopback server answering each "METHOD /path" as given.
func serve(t *testing.T, answers map[string]answer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			a = answer{http.StatusNotFound, "application/json", `{"code": "not_found"}`}
		}
		if a.ctype != "" {
			w.Header().Set("Content-Type", a.ctype)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// recorder is a testing.TB that records what is reported instead of
// failing the test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.errors...)
}

func loadPets(t *testing.T) *Doc {
	t.Helper()
	d, err := Load([]byte(petDoc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheckRefusesWhatTheDocumentDoesNotDescribe(t *testing.T) {
	t.Parallel()
	d := loadPets(t)
	tests := []struct {
		name        string
		method      string
		path        string
		ctype, body string // request
		answer      answer
		want        string // in the error; "" for none
	}{
		{"a response as described passes", "GET", "/pets/1", "", "",
			answer{200, "application/json", `{"name": "rex", "age": 3, "tags": null}`}, ""},
		{"an error answered by the default response passes", "GET", "/pets/1", "", "",
			answer{404, "application/json", `{"code": "not_found"}`}, ""},
		{"a field of the wrong type is refused", "GET", "/pets/1", "", "",
			answer{200, "application/json", `{"name": "rex", "age": "three"}`}, `"/age"`},
		{"a field the document does not name is refused", "GET", "/pets/1", "", "",
			answer{200, "application/json", `{"name": "rex", "colour": "brown"}`}, "colour"},
		{"a missing required field is refused", "GET", "/pets/1", "", "",
			answer{200, "application/json", `{"age": 3}`}, "name"},
		{"null where the document does not allow it is refused", "GET", "/pets/1", "", "",
			answer{200, "application/json", `{"name": null}`}, "nullable"},
		{"a success status the operation does not declare is refused", "GET", "/pets/1", "", "",
			answer{201, "application/json", `{"name": "rex"}`}, "status 201 is not declared"},
		{"a media type the response does not declare is refused", "GET", "/pets/1", "", "",
			answer{200, "text/plain", `rex`}, `media type "text/plain"`},
		{"a declared 204 without a body passes", "POST", "/pets/x/feed", "", "",
			answer{204, "", ""}, ""},
		{"a request body that does not match, answered 201, is refused", "POST", "/pets", "application/json", `{"name": 7}`,
			answer{201, "application/json", `{"name": "7"}`}, "request"},
		{"a request without its required body, answered 201, is refused", "POST", "/pets", "", "",
			answer{201, "application/json", `{"name": "x"}`}, "request"},
		{"a request the server refused too passes", "POST", "/pets", "application/json", `{"name": 7}`,
			answer{400, "application/json", `{"code": "invalid"}`}, ""},
		{"a path parameter of the wrong type, answered 200, is refused", "GET", "/pets/rex", "", "",
			answer{200, "application/json", `{"name": "rex"}`}, "request"},
		{"a path the document does not have, answered 200, is refused", "GET", "/owners", "", "",
			answer{200, "application/json", `{}`}, "request"},
		{"a path the document does not have, answered 404, passes", "GET", "/owners", "", "",
			answer{404, "application/json", `{"code": "not_found"}`}, ""},
		{"an event stream is checked by its status and media type only", "GET", "/feed", "", "",
			answer{200, "text/event-stream", "data: {}\n\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, map[string]answer{tt.method + " " + tt.path: tt.answer})
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tt.method, url+tt.path, rd)
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			err = d.Check(req, []byte(tt.body), resp, body)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v, want no mismatch", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check: %v, want a mismatch naming %q", err, tt.want)
			}
		})
	}
}

func TestCheckRefusesABodyWhereNoneIsDeclared(t *testing.T) {
	t.Parallel()
	d := loadPets(t)
	url := serve(t, map[string]answer{"POST /pets/x/feed": {200, "application/json", `{}`}})
	req, err := http.NewRequestWithContext(t.Context(), "POST", url+"/pets/x/feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := d.Check(req, nil, resp, nil); err == nil || !strings.Contains(err.Error(), "status 200 is not declared") {
		t.Errorf("Check of an undeclared 200: %v", err)
	}
	resp.StatusCode = http.StatusNoContent
	if err := d.Check(req, nil, resp, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "declares no body") {
		t.Errorf("Check of a 204 with a body: %v", err)
	}
}

func TestTransportReportsAndHandsTheResponseOn(t *testing.T) {
	t.Parallel()
	d := loadPets(t)
	url := serve(t, map[string]answer{
		"GET /pets/1": {200, "application/json", `{"name": "rex", "age": "three"}`},
		"GET /pets/2": {200, "application/json", `{"name": "rex", "age": 3}`},
	})
	rec := &recorder{TB: t}
	client := Client(rec, d)
	get := func(path string) string {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(resp.StatusCode, " ", string(body))
	}

	if got, want := get("/pets/1"), `200 {"name": "rex", "age": "three"}`; got != want {
		t.Errorf("the caller got %q, want the response handed on: %q", got, want)
	}
	errs := rec.reported()
	if len(errs) != 1 || !strings.Contains(errs[0], "GET /pets/1 answered 200") || !strings.Contains(errs[0], `"/age"`) {
		t.Fatalf("reported %q, want one mismatch naming GET /pets/1, its status and /age", errs)
	}
	if got, want := get("/pets/2"), `200 {"name": "rex", "age": 3}`; got != want {
		t.Errorf("the caller got %q, want %q", got, want)
	}
	if errs := rec.reported(); len(errs) != 1 {
		t.Errorf("a matching exchange was reported: %q", errs[1:])
	}
}

func TestTransportChecksTheRequestBodyAndStillSendsIt(t *testing.T) {
	t.Parallel()
	d := loadPets(t)
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"name": "7"}`)
	}))
	t.Cleanup(srv.Close)
	rec := &recorder{TB: t}
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/pets", strings.NewReader(`{"name": 7}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := Client(rec, d).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != `{"name": 7}` {
		t.Errorf("the server got %q, want the request body sent as it was", got)
	}
	if errs := rec.reported(); len(errs) != 1 || !strings.Contains(errs[0], "POST /pets answered 201: request") {
		t.Errorf("reported %q, want the request's mismatch", errs)
	}
}

func TestProxyReportsTrafficPassingThrough(t *testing.T) {
	t.Parallel()
	d := loadPets(t)
	target := serve(t, map[string]answer{
		"GET /pets/1": {200, "application/json", `{"name": 1}`},
		"GET /feed":   {200, "text/event-stream", "data: {\"n\": \"not checked\"}\n\n"},
	})
	rec := &recorder{TB: t}
	proxy := StartProxy(rec, d, target)
	for _, path := range []string{"/pets/1", "/feed"} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", proxy+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s through the proxy: %d %q, want the target's answer", path, resp.StatusCode, body)
		}
	}
	if errs := rec.reported(); len(errs) != 1 || !strings.Contains(errs[0], "GET /pets/1 answered 200") {
		t.Errorf("reported %q, want one mismatch for GET /pets/1", errs)
	}
}

func TestLoadRefusesAnInvalidDocument(t *testing.T) {
	t.Parallel()
	bad := strings.Replace(petDoc, `"$ref": "#/components/schemas/Pet"`, `"$ref": "#/components/schemas/Cat"`, 1)
	if _, err := Load([]byte(bad)); err == nil {
		t.Error("Load of a document with a dangling $ref succeeded")
	}
}
