package api

import (
	"berth.dev/berth/internal/alert"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/dashboard"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/slo"
)

// httpError is an error with its status and public code; cause is logged,
// never shown.
type httpError struct {
	status     int
	code       string
	cause      error
	retryAfter time.Duration
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.cause.Error()
	}
	return e.code
}

func (e *httpError) Unwrap() error { return e.cause }

var (
	errNotFound         = &httpError{status: http.StatusNotFound, code: i18n.NotFound}
	errForbidden        = &httpError{status: http.StatusForbidden, code: i18n.Forbidden}
	errCSRF             = &httpError{status: http.StatusForbidden, code: i18n.CSRFFailed}
	errUnsupportedMedia = &httpError{status: http.StatusUnsupportedMediaType, code: i18n.UnsupportedMedia}
	errMethod           = &httpError{status: http.StatusMethodNotAllowed, code: i18n.MethodNotAllowed}
)

// writeError is the one place errors become responses: it picks the
// status, the stable code and the message in the request's language, adds
// the fields of validation errors and the request ID, and logs the cause.
// Internal errors show nothing of their cause.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body, retry := classify(err)
	lang := i18n.Pick(r.Header.Get("Accept-Language"))
	if body.Message == "" {
		body.Message = i18n.Message(body.Code, lang)
	}
	body.RequestID = requestID(r)
	level := slogLevel(status)
	a.log.Log(r.Context(), level, "api request failed", "method", r.Method, "path", r.URL.Path,
		"status", status, "code", body.Code, "request_id", body.RequestID, "err", err)
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="berth"`)
	}
	_ = writeJSON(w, status, body)
}

// partialError is the body of a part of a response that failed while the
// rest succeeded (a deployment's events): the code's message in the
// request's language and the request ID, under which the cause is logged.
func (a *API) partialError(r *http.Request, code string, err error) *apitypes.ErrorBody {
	body := &apitypes.ErrorBody{Code: code, Message: i18n.Message(code, i18n.Pick(r.Header.Get("Accept-Language"))), RequestID: requestID(r)}
	a.log.Warn("api response incomplete", "method", r.Method, "path", r.URL.Path, "code", code,
		"request_id", body.RequestID, "err", err)
	return body
}

// classify maps err to its status and public body.
func classify(err error) (int, apitypes.ErrorBody, time.Duration) {
	var he *httpError
	var ve *resource.ValidationError
	var qe *resource.QuotaExceededError
	var mbe *http.MaxBytesError
	var me *manifest.Error
	var ce *clusterError
	var re *resource.RefusedError
	switch {
	case errors.As(err, &ce):
		return http.StatusServiceUnavailable, apitypes.ErrorBody{Code: i18n.ClusterUnreachable,
			Fields: []resource.FieldError{{Path: "cluster", Reason: ce.Error()}}}, 5 * time.Second
	case errors.Is(err, appstore.ErrClusterUnreachable):
		return http.StatusServiceUnavailable, apitypes.ErrorBody{Code: i18n.ClusterUnreachable,
			Fields: []resource.FieldError{{Path: "environment", Reason: appstore.ErrClusterUnreachable.Error()}}}, 5 * time.Second
	case errors.As(err, &he):
		return he.status, apitypes.ErrorBody{Code: he.code}, he.retryAfter
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, apitypes.ErrorBody{Code: i18n.TooLarge}, 0
	case errors.As(err, &me):
		return http.StatusUnprocessableEntity, apitypes.ErrorBody{Code: i18n.ValidationFailed, Fields: manifestFields(err)}, 0
	case errors.As(err, &qe):
		// The numbers are the message: users must see what they asked for,
		// what is used and what the limit is.
		return http.StatusUnprocessableEntity, apitypes.ErrorBody{Code: i18n.QuotaExceeded, Message: qe.Error(),
			Fields: []resource.FieldError{{Path: "quota." + string(qe.Resource), Reason: qe.Error()}}}, 0
	case errors.As(err, &re):
		if re.Forbidden {
			return http.StatusForbidden, apitypes.ErrorBody{Code: i18n.RefusedForYou, Message: re.Message}, 0
		}
		return http.StatusConflict, apitypes.ErrorBody{Code: i18n.Refused, Message: re.Message}, 0
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, apitypes.ErrorBody{Code: i18n.ValidationFailed, Fields: ve.Fields}, 0
	case errors.Is(err, resource.ErrUnauthenticated):
		return http.StatusUnauthorized, apitypes.ErrorBody{Code: i18n.Unauthenticated}, 0
	case errors.Is(err, resource.ErrForbidden):
		return http.StatusForbidden, apitypes.ErrorBody{Code: i18n.Forbidden}, 0
	case errors.Is(err, resource.ErrNotFound):
		return http.StatusNotFound, apitypes.ErrorBody{Code: i18n.NotFound}, 0
	case errors.Is(err, resource.ErrAlreadyExists):
		return http.StatusConflict, apitypes.ErrorBody{Code: i18n.AlreadyExists}, 0
	case errors.Is(err, resource.ErrConflict):
		return http.StatusConflict, apitypes.ErrorBody{Code: i18n.Conflict}, 0
	case errors.Is(err, resource.ErrInUse):
		return http.StatusConflict, apitypes.ErrorBody{Code: i18n.InUse}, 0
	case errors.Is(err, alert.ErrUnavailable):
		return http.StatusServiceUnavailable, apitypes.ErrorBody{Code: i18n.AlertmanagerUnavailable}, 5 * time.Second
	case errors.Is(err, slo.ErrUnavailable), errors.Is(err, dashboard.ErrUnavailable):
		return http.StatusServiceUnavailable, apitypes.ErrorBody{Code: i18n.PrometheusUnavailable}, 5 * time.Second
	case errors.Is(err, resource.ErrUnavailable):
		return http.StatusServiceUnavailable, apitypes.ErrorBody{Code: i18n.DatabaseUnavailable}, 5 * time.Second
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, apitypes.ErrorBody{Code: i18n.Unavailable}, 0
	}
	return http.StatusInternalServerError, apitypes.ErrorBody{Code: i18n.Internal}, 0
}

// manifestFields flattens the errors of every bad document into fields
// whose paths name the document: "document 2 (Application red-auth): spec.replicass".
func manifestFields(err error) []resource.FieldError {
	var out []resource.FieldError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var me *manifest.Error
		if errors.As(err, &me) {
			for _, f := range me.Fields {
				out = append(out, resource.FieldError{Path: me.Where() + ": " + f.Path, Reason: f.Reason})
			}
		}
	}
	walk(err)
	return out
}

func slogLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
