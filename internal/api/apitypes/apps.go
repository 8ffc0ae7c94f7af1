package apitypes

import (
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/health"
	"berth.dev/berth/internal/tenancy"
)

// ClusterRequest registers a cluster.
type ClusterRequest struct {
	tenancy.Cluster
	// Kubeconfig is the kubeconfig file's content; it is stored sealed and
	// never returned.
	Kubeconfig string `json:"kubeconfig"`
}

// ClusterView is a registered cluster with whether Berth reaches it.
type ClusterView struct {
	tenancy.Cluster
	Status *ClusterStatus `json:"status,omitempty"`
}

// ClusterStatus says whether the cluster's API server answers Berth with
// the registered kubeconfig: phase Ready, or Unknown with the reason
// (connection refused, certificate not trusted, credentials refused...).
type ClusterStatus struct {
	Phase  string `json:"phase"`
	Reason string `json:"reason,omitempty"`
}

// CurrentVersion names the version an application should run.
type CurrentVersion struct {
	Version string `json:"version"`
	// ResourceVersion is the application's, as read; 0 skips the check.
	ResourceVersion int64 `json:"resourceVersion,omitempty"`
}

// DeployRequest runs a version.
type DeployRequest struct {
	Version string `json:"version"`
}

// ScaleRequest sets the replica count.
type ScaleRequest struct {
	Replicas int32 `json:"replicas"`
}

// DeploymentView is a deployment with its live status: the columns of the
// application list (name, version, status, external and internal address,
// created time) and, in detail, pods and recent events.
type DeploymentView struct {
	deploy.Deployment
	Status          health.Status  `json:"status"`
	InternalAddress string         `json:"internalAddress,omitempty"`
	ExternalAddress string         `json:"externalAddress,omitempty"`
	Events          []health.Event `json:"events,omitempty"`
	// EventsError, when set, says the recent events could not be read (the
	// rest of the view is complete); the cause is in the server's log under
	// its request ID.
	EventsError *ErrorBody `json:"eventsError,omitempty"`
}
