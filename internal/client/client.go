// Package client is the CLI's HTTP client of the Berth API, and the CLI's
// configuration file of named contexts (server and token).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"berth.dev/berth/internal/resource"
)

// Error is an error the API returned.
type Error struct {
	Status    int                   `json:"-"`
	Code      string                `json:"code"`
	Message   string                `json:"message"`
	Fields    []resource.FieldError `json:"fields,omitempty"`
	RequestID string                `json:"requestId"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Path, f.Reason)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, "\n(code %s, request %s)", e.Code, e.RequestID)
	}
	return b.String()
}

// Client calls one Berth server with one token.
type Client struct {
	Server string // base URL, e.g. http://127.0.0.1:8080
	Token  string // bearer token; empty for login
	HTTP   *http.Client
	// Language goes out as Accept-Language, so messages come back in it.
	Language string
}

// New returns a client of server authenticating with token.
func New(server, token string) *Client {
	return &Client{Server: strings.TrimRight(server, "/"), Token: token, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// MaxResponse bounds how much of a response the client reads.
const MaxResponse = 64 << 20

// Do sends method path (relative to /api/v1, with its query) with body
// encoded as JSON (or sent as is when it is []byte with contentType) and
// decodes the JSON answer into out unless out is nil.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		return apiError(resp, data)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response of %s %s: %w", method, path, err)
	}
	return nil
}

// Stream sends a request and copies a successful response body to w.
func (c *Client) Stream(ctx context.Context, method, path string, w io.Writer) error {
	resp, err := c.send(ctx, method, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return apiError(resp, data)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	return nil
}

// Raw is a request body sent as is.
type Raw struct {
	ContentType string
	Data        []byte
}

func (c *Client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	if c.Server == "" {
		return nil, errors.New("no server: run berth login --server URL first")
	}
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case Raw:
		rd, ctype = bytes.NewReader(b.Data), b.ContentType
	default:
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+"/api/v1"+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if c.Language != "" {
		req.Header.Set("Accept-Language", c.Language)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp, nil
}

func apiError(resp *http.Response, data []byte) error {
	e := &Error{Status: resp.StatusCode}
	if err := json.Unmarshal(data, e); err != nil || e.Code == "" {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return e
}

// Query builds "?k=v&..." from pairs, skipping empty values.
func Query(pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
