package apitypes

import (
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/netasset"
)

// The network assets' types the API sends and receives as they are: port
// views and grants as compact ranges, node port allocations, bandwidth in
// bits per second, isolation with its allow rules.
type (
	PortView      = netasset.PortView
	Grant         = netasset.Grant
	Allocation    = netasset.Allocation
	BandwidthView = netasset.BandwidthView
	Bandwidth     = apps.Bandwidth
	Isolation     = netasset.Isolation
	Allow         = netasset.Allow
	Peer          = netasset.Peer
	Level         = netasset.Level
)

// PortsRequest sets a pool or a grant: Ports in compact ranges
// ("30061-30062, 30064"; empty takes a grant back), ResourceVersion the
// version read (0 when there was none).
type PortsRequest struct {
	Ports           string `json:"ports"`
	ResourceVersion int64  `json:"resourceVersion"`
}

// ExposeRequest asks for a node port; 0 takes the next free one.
type ExposeRequest struct {
	NodePort int `json:"nodePort,omitempty"`
}
