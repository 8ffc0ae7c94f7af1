package apitypes

// List is the body of every list response.
type List[T any] struct {
	Items []T `json:"items"`
	// Continue is the token for the next page; empty on the last.
	Continue string `json:"continue,omitempty"`
}
