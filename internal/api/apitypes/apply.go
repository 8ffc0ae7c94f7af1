package apitypes

import "berth.dev/berth/internal/manifest"

// ApplyResult reports what an apply did to each document.
type ApplyResult struct {
	Objects []Applied `json:"objects"`
}

// Applied is one document's outcome: created, updated or unchanged.
type Applied struct {
	Document int           `json:"document"`
	Kind     manifest.Kind `json:"kind"`
	Name     string        `json:"name"`
	Action   string        `json:"action"`
	// WebhookSecret is a created Pipeline's webhook secret, shown this
	// once.
	WebhookSecret string `json:"webhookSecret,omitempty"`
}
