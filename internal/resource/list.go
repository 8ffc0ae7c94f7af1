package resource

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// DefaultLimit and MaxLimit bound a list page.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// ListOptions asks for one page of a list. Lists are ordered by name (audit
// records by sequence number).
type ListOptions struct {
	// Limit is the page size; 0 means DefaultLimit, more than MaxLimit is
	// clamped.
	Limit int
	// Continue is the token from the previous page, empty for the first.
	Continue string
}

// Page is one page of a list. Continue is empty on the last page.
type Page[T any] struct {
	Items    []T
	Continue string
}

// PageLimit returns the clamped page size of o.
func (o ListOptions) PageLimit() int {
	switch {
	case o.Limit <= 0:
		return DefaultLimit
	case o.Limit > MaxLimit:
		return MaxLimit
	}
	return o.Limit
}

// After returns the key the page starts after ("" for the first page), or
// a *ValidationError at path "continue" when the token is malformed.
func (o ListOptions) After() (string, error) {
	if o.Continue == "" {
		return "", nil
	}
	key, err := DecodeContinue(o.Continue)
	if err != nil {
		return "", &ValidationError{Fields: []FieldError{{Path: "continue", Reason: err.Error()}}}
	}
	return key, nil
}

const tokenPrefix = "b1:"

// EncodeContinue makes the opaque token for a page that ends at key.
func EncodeContinue(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + key))
}

// DecodeContinue returns the key inside a token made by EncodeContinue.
func DecodeContinue(token string) (string, error) {
	if len(token) > 1024 {
		return "", fmt.Errorf("continue token too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !strings.HasPrefix(string(b), tokenPrefix) {
		return "", fmt.Errorf("malformed continue token")
	}
	return strings.TrimPrefix(string(b), tokenPrefix), nil
}

// NewPage builds a page from up to limit+1 items fetched in key order: when
// there are more than limit, the extra one is dropped and Continue points
// after the last kept item. It keeps items.
func NewPage[T any](items []T, limit int, key func(T) string) Page[T] {
	if len(items) <= limit {
		return Page[T]{Items: items}
	}
	items = items[:limit]
	return Page[T]{Items: items, Continue: EncodeContinue(key(items[limit-1]))}
}
