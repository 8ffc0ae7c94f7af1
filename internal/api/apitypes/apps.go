package apitypes

import "berth.dev/berth/internal/tenancy"

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
