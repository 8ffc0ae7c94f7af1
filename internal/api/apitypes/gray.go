package apitypes

import (
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/traffic"
)

// GrayPlan, GrayStep and GrayChange are the gray domain's types the API
// sends and receives as they are.
type (
	GrayPlan   = gray.Plan
	GrayStep   = gray.Step
	GrayChange = gray.Change
)

// The gray strategies and phases, as the API spells them.
const (
	GrayCanary    = gray.Canary
	GrayBlueGreen = gray.BlueGreen

	GrayRunning  = gray.Running
	GrayPromoted = gray.Promoted
	GrayEnded    = gray.Ended
	GrayAborted  = gray.Aborted
)

// GrayPlanView is a gray plan with the routing rules it compiles to now.
type GrayPlanView struct {
	gray.Plan
	Rules   traffic.Rules `json:"rules"`
	Headers gray.Headers  `json:"headers"`
}

// GrayStartRequest starts a gray plan for an application.
type GrayStartRequest struct {
	Application  string        `json:"application"`
	GrayVersion  string        `json:"grayVersion"`
	Strategy     gray.Strategy `json:"strategy,omitempty"`
	GrayReplicas *int32        `json:"grayReplicas,omitempty"`
	Steps        []gray.Step   `json:"steps,omitempty"`
	Step         int           `json:"step,omitempty"`
	Side         string        `json:"side,omitempty"`
}

// GrayStepRequest moves a plan to step To, or to the next step when nil.
type GrayStepRequest struct {
	To *int `json:"to,omitempty"`
}

// GrayPromoteRequest promotes a plan; KeepOld ("2h") keeps the old version
// running for an instant switch back, "" or "0s" removes it.
type GrayPromoteRequest struct {
	KeepOld string `json:"keepOld,omitempty"`
}

// GrayAbortRequest aborts a plan (or switches a promoted one back).
type GrayAbortRequest struct {
	Reason string `json:"reason,omitempty"`
}

// OrgImportRequest replaces a tenant's org directory: CSV text with the
// header level,code,name,parent, or the units themselves.
type OrgImportRequest struct {
	CSV   string         `json:"csv,omitempty"`
	Units []gray.OrgUnit `json:"units,omitempty"`
}

// GatewayApplied is a gateway's report that a configuration is in force
// (the body internal/gateway's Subscriber posts).
type GatewayApplied struct {
	Subscriber string `json:"subscriber"`
	ID         string `json:"id"`
}

// GatewayDeliveries is which configuration the gateways have in force, as
// the replica answering sees it: what the gray plan controller waits for
// before it removes a version's pods (docs/gateway.md, "Applied reports").
type GatewayDeliveries struct {
	// Replica names the replica answering ("" when it is alone on its
	// database).
	Replica string `json:"replica"`
	// Config is the ID of the configuration it publishes now ("": none
	// yet); Delivered whether that counts as in force everywhere.
	Config    string `json:"config"`
	Delivered bool   `json:"delivered"`
	// Gateways are the replica's own gateways, then, with several
	// replicas, those of the others seen within 15 s.
	Gateways []GatewayDelivery `json:"gateways"`
}

// GatewayDelivery is one gateway that reports what it applies.
type GatewayDelivery struct {
	// Replica is the replica it streams from; Local whether that is the
	// one answering.
	Replica string `json:"replica"`
	Local   bool   `json:"local"`
	// Subscriber is the ID the gateway streams under.
	Subscriber string `json:"subscriber"`
	// Applied is the configuration it reported in force ("": none yet);
	// Current whether that is the one published now.
	Applied string `json:"applied"`
	Current bool   `json:"current"`
}

// GrayGroupView is a release order released by gray plans (its gray
// group): the order and the plans of its items.
type GrayGroupView struct {
	Order OrderView      `json:"order"`
	Plans []GrayPlanView `json:"plans"`
}

// GrayGroupStartRequest starts the gray release of an approved order: one
// plan per item, the item's current version stable and its target version
// gray, all with these steps (or blue-green side) and gray replicas.
type GrayGroupStartRequest struct {
	Strategy     gray.Strategy `json:"strategy,omitempty"`
	GrayReplicas *int32        `json:"grayReplicas,omitempty"`
	Steps        []gray.Step   `json:"steps,omitempty"`
	Step         int           `json:"step,omitempty"`
	Side         string        `json:"side,omitempty"`
}
