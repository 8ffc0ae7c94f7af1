package resource

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels the store translates driver errors into and the API maps to
// status codes. Wrap them with context; test with errors.Is.
var (
	// ErrNotFound: the addressed resource does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a resource with that name already exists (409).
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: the write carried a stale resourceVersion; someone else
	// changed the resource since it was read. Re-read and retry (409).
	ErrConflict = errors.New("conflict: the resource was changed since it was read")
	// ErrInUse: the resource cannot be deleted while others refer to it,
	// such as a tenant that still has projects (409).
	ErrInUse = errors.New("in use")
	// ErrUnavailable: the database did not answer (connection refused,
	// reset or lost); nothing was changed. Retry later (503).
	ErrUnavailable = errors.New("the database is unavailable")
	// ErrQuotaExceeded is matched by every *QuotaExceededError (403/422).
	ErrQuotaExceeded = errors.New("quota exceeded")
	// ErrUnauthenticated: credentials, token or session are wrong, expired
	// or revoked (401). The message never says which.
	ErrUnauthenticated = errors.New("invalid credentials")
	// ErrForbidden: the caller is known but its roles do not allow the
	// operation at the target's scope.
	ErrForbidden = errors.New("forbidden")
)

// FieldError is one invalid field, named by its path in the object
// (JSON names, e.g. "spec.ports[0].containerPort"). It is the one field
// error of Berth: of resources and manifests, of the gateway's and the
// server's configuration, of traffic rules, and the "fields" of the API's
// error body the client decodes.
type FieldError struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Error reads "path: reason".
func (e FieldError) Error() string { return e.Path + ": " + e.Reason }

// ValidationError lists every invalid field of one object (422).
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Path + ": " + f.Reason
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Errors collects field errors while validating.
type Errors struct {
	fields []FieldError
}

// Add records that the field at path is invalid.
func (e *Errors) Add(path, format string, args ...any) {
	e.fields = append(e.fields, FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

// Err returns a *ValidationError with every recorded field, or nil.
func (e *Errors) Err() error {
	if len(e.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: e.fields}
}

// Prefix returns err with every field path prefixed by prefix, so a nested
// object's errors read from the document root. Other errors pass through.
func Prefix(prefix string, err error) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := make([]FieldError, len(ve.Fields))
	for i, f := range ve.Fields {
		out[i] = FieldError{Path: prefix + "." + f.Path, Reason: f.Reason}
	}
	return &ValidationError{Fields: out}
}

// QuotaExceededError says which limit a change would exceed, with numbers.
type QuotaExceededError struct {
	Scope     string   // "tenant acme" or "project acme/payments"
	Resource  Name     // cpu, memory, ...
	Requested Quantity // what the change adds (or the new limit asked for)
	Used      Quantity // what is already used (or allotted)
	Limit     Quantity // the limit in force
	Reason    string   // optional: why the check was made, e.g. "project quotas would sum above the tenant's"
}

func (e *QuotaExceededError) Error() string {
	msg := fmt.Sprintf("quota exceeded in %s: %s requested %s, used %s, limit %s",
		e.Scope, e.Resource, e.Requested, e.Used, e.Limit)
	if e.Reason != "" {
		msg += " (" + e.Reason + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *QuotaExceededError) Is(target error) bool { return target == ErrQuotaExceeded }

// RefusedError is a well-formed request that a rule refuses: an order that
// is not approved cannot start, its creator cannot approve it. Message is
// shown to users as is, so it names the resource and the rule; the API
// answers 403 when Forbidden (the rule concerns who asks), else 409 (the
// rule concerns the resource's current state).
type RefusedError struct {
	Message   string
	Forbidden bool
}

func (e *RefusedError) Error() string { return e.Message }

// Refused returns a *RefusedError about the resource's state.
func Refused(format string, args ...any) error {
	return &RefusedError{Message: fmt.Sprintf(format, args...)}
}

// Forbidden returns a *RefusedError about who asks.
func Forbidden(format string, args ...any) error {
	return &RefusedError{Message: fmt.Sprintf(format, args...), Forbidden: true}
}
