package apitypes

import "berth.dev/berth/internal/resource"

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Code      string                `json:"code"`
	Message   string                `json:"message"`
	Fields    []resource.FieldError `json:"fields,omitempty"`
	RequestID string                `json:"requestId"`
}
