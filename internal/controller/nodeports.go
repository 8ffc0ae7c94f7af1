package controller

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/netasset"
)

// allocatedNodePorts reads the node ports allocated to deployment k, by
// the name of the port they expose.
func allocatedNodePorts(ctx context.Context, st deploymentReads, k deploy.Key) (map[string]int32, error) {
	held, err := st.ListAllocations(ctx, netasset.AllocationFilter{Tenant: k.Tenant, Project: k.Project,
		Application: k.Application, Environment: k.Environment})
	if err != nil {
		return nil, fmt.Errorf("node ports of %s: %w", k.Path(), err)
	}
	if len(held) == 0 {
		return nil, nil
	}
	out := make(map[string]int32, len(held))
	for _, al := range held {
		out[al.PortName] = int32(al.Port)
	}
	return out, nil
}
