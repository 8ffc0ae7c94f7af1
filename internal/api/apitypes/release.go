package apitypes

import (
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// OrderView is a release order with its progress, "done N / deploying N /
// failed N" as the seed's table shows it.
type OrderView struct {
	release.Order
	Progress release.Progress `json:"progress"`
}

// ReleaseRequest creates a release order. Give the items either with their
// dependencies (Items) or as ordered stages whose items run in parallel
// (Stages), not both.
type ReleaseRequest struct {
	Environment string            `json:"environment"`
	Title       string            `json:"title"`
	Ticket      string            `json:"ticket,omitempty"`
	Parallelism int               `json:"parallelism,omitempty"`
	Deadline    resource.Duration `json:"deadline,omitzero"`
	Items       []release.Item    `json:"items,omitempty"`
	Stages      [][]release.Item  `json:"stages,omitempty"`
	// Draft keeps the order to be submitted later.
	Draft bool `json:"draft,omitempty"`
}

// ApproveRequest approves a release order.
type ApproveRequest struct {
	Comment string `json:"comment,omitempty"`
}

// AbortRequest aborts a release order.
type AbortRequest struct {
	Reason string `json:"reason,omitempty"`
}

// RollbackRequest rolls back a succeeded order, or chosen items of it.
type RollbackRequest = release.RollbackRequest
