package apitypes

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
