package apitypes

import "berth.dev/berth/internal/tenancy"

// ApprovalFloor, FloorChange and NamespaceGrant are the tenancy domain's
// types the API sends and receives as they are.
type (
	ApprovalFloor  = tenancy.ApprovalFloor
	FloorChange    = tenancy.FloorChange
	NamespaceGrant = tenancy.NamespaceGrant
)
