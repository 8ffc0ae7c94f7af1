// Package apps holds applications and their versions (F3) and the resource
// tiers applications choose from (F4).
//
// An Application is a service of a project (e.g. "red-auth"). A Version is
// an immutable application asset: image reference and digest, source
// revision, orchestration (ports, env, config refs, probes, replicas,
// autoscaling, zone spread, graceful shutdown), resource tier and pipeline.
// The application's CurrentVersion is what it runs, and what it reserves
// against its project's and tenant's quota: the tier's requests times the
// maximum replica count, one container per replica, the tier's storage per
// replica and one config item per config ref.
//
// Transactions work as in package tenancy: every Service method takes the
// transaction-bound Store and writes its audit record through it.
package apps

import (
	"time"

	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/resource"
)

// Application is a service of a project.
type Application struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// CurrentVersion names the version the application runs; empty until
	// one is activated.
	CurrentVersion  string    `json:"currentVersion,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedBy       string    `json:"createdBy"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Version is an immutable application asset. Nothing changes it after
// creation; a new build is a new Version.
type Version struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Application string `json:"application"`
	Name        string `json:"name"` // e.g. "v1-4-2"; a DNS-1123 label
	// Image is the image reference "registry/repo:tag"; Digest is
	// "sha256:<64 hex>" when known.
	Image         string        `json:"image"`
	Digest        string        `json:"digest,omitempty"`
	Source        Source        `json:"source"`
	Orchestration Orchestration `json:"orchestration"`
	// Tier names the ResourceTier the version was created with. Resources
	// are the requests and limits it runs with: a copy of the tier's taken
	// at creation (so a later tier change does not alter an existing
	// asset), or raw values given by a platform admin
	// (VersionOptions.AllowRawResources).
	Tier      string     `json:"tier"`
	Resources *Resources `json:"resources,omitempty"`
	Pipeline  string     `json:"pipeline,omitempty"`
	// Chart is set on the versions of an app-store install: the chart
	// rendered and the objects it rendered to, which the deployment
	// controller applies instead of rendering Image and Orchestration.
	Chart     *Chart    `json:"chart,omitempty"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// Source is where the version was built from.
type Source struct {
	Repository string `json:"repository,omitempty"`
	Revision   string `json:"revision,omitempty"`
	// Ref, Run and BuildLog are set on versions a pipeline delivered: the
	// branch ref built, the run's resource path and its build log's API
	// path (the asset's provenance).
	Ref      string `json:"ref,omitempty"`
	Run      string `json:"run,omitempty"`
	BuildLog string `json:"buildLog,omitempty"`
}

// Orchestration is how the version runs.
type Orchestration struct {
	Ports       []Port       `json:"ports,omitempty"`
	Env         []EnvVar     `json:"env,omitempty"`
	ConfigRefs  []ConfigRef  `json:"configRefs,omitempty"`
	Probes      Probes       `json:"probes"`
	Replicas    int32        `json:"replicas"`
	Autoscaling *Autoscaling `json:"autoscaling,omitempty"`
	// ZoneSpread spreads replicas across zones by anti-affinity:
	// "required", "preferred", or "" for no spreading.
	ZoneSpread ZoneSpread `json:"zoneSpread,omitempty"`
	// GracefulShutdownSeconds is how long a replica may take to exit.
	GracefulShutdownSeconds int32 `json:"gracefulShutdownSeconds,omitempty"`
	// PreStop runs before the container is stopped (e.g. deregister).
	PreStop []string `json:"preStop,omitempty"`
	// PodLabels are extra labels on every replica (e.g. for a mesh, or
	// berth.dev/simulate on the local cluster). Keys Berth sets itself
	// (app.kubernetes.io/*, berth.dev/tenant|project|environment|app) are
	// refused.
	PodLabels map[string]string `json:"podLabels,omitempty"`
	// Bandwidth is what one instance may use, in bits per second; it is
	// set as the pod's kubernetes.io/ingress-bandwidth and egress-bandwidth
	// annotations and counts, times the instances, against the
	// ingressBandwidth and egressBandwidth quotas.
	Bandwidth *Bandwidth `json:"bandwidth,omitempty"`
}

// Bandwidth is a per-instance rate in bits per second ("10M", "1G"); an
// unset direction is not limited.
type Bandwidth struct {
	Ingress resource.Quantity `json:"ingress,omitempty"`
	Egress  resource.Quantity `json:"egress,omitempty"`
}

// ZoneSpread is the zone anti-affinity mode.
type ZoneSpread string

// Zone spread modes.
const (
	SpreadNone      ZoneSpread = ""
	SpreadRequired  ZoneSpread = "required"
	SpreadPreferred ZoneSpread = "preferred"
)

// Port is a container port the application serves on.
type Port struct {
	Name          string `json:"name"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"` // TCP (default) or UDP
}

// EnvVar is an environment variable; ConfigRef takes the value from a
// config item instead of Value.
type EnvVar struct {
	Name      string `json:"name"`
	Value     string `json:"value,omitempty"`
	ConfigRef string `json:"configRef,omitempty"`
}

// ConfigRef mounts configuration into the container, for applications
// without a Nacos client: either a ConfigMap of the namespace by Name, or
// a config center item (F15) of the environment the version runs in, by
// DataID and Group, as the file MountPath/File. The item's current
// revision is the file's content (its gray revision for the pods of a
// version in the gray cohort); a new revision rewrites the file in place
// (OnChange reload: the kubelet refreshes it, the pods keep running) or
// rolls the pods (OnChange restart).
type ConfigRef struct {
	Name      string `json:"name,omitempty"`
	MountPath string `json:"mountPath,omitempty"`
	DataID    string `json:"dataId,omitempty"`
	// Group is the item's group, DEFAULT_GROUP when empty.
	Group string `json:"group,omitempty"`
	// File is the file's name in MountPath, the DataID when empty.
	File     string   `json:"file,omitempty"`
	OnChange OnChange `json:"onChange,omitempty"`
}

// IsItem reports whether r mounts a config center item (not a ConfigMap).
func (r ConfigRef) IsItem() bool { return r.DataID != "" }

// ItemGroup is the group of the item r mounts.
func (r ConfigRef) ItemGroup() string {
	if r.Group == "" {
		return configcenter.DefaultGroup
	}
	return r.Group
}

// FileName is the name of the file r mounts.
func (r ConfigRef) FileName() string {
	if r.File == "" {
		return r.DataID
	}
	return r.File
}

// OnChange is what a new revision of a mounted item does to the pods.
type OnChange string

// The ways a mounted item's change reaches the pods.
const (
	// Reload rewrites the file in place; the application rereads it.
	Reload OnChange = "reload"
	// Restart replaces the pods, one at a time, as a rollout does.
	Restart OnChange = "restart"
)

// Probes are the health checks.
type Probes struct {
	Startup   *Probe `json:"startup,omitempty"`
	Readiness *Probe `json:"readiness,omitempty"`
	Liveness  *Probe `json:"liveness,omitempty"`
}

// Probe is one health check: HTTP GET of Path on Port, a TCP connect to
// Port, or Command run in the container.
type Probe struct {
	HTTPPath            string   `json:"httpPath,omitempty"`
	Port                int32    `json:"port,omitempty"`
	Command             []string `json:"command,omitempty"`
	InitialDelaySeconds int32    `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds       int32    `json:"periodSeconds,omitempty"`
	TimeoutSeconds      int32    `json:"timeoutSeconds,omitempty"`
	FailureThreshold    int32    `json:"failureThreshold,omitempty"`
}

// Autoscaling scales replicas between Min and Max on utilisation targets.
type Autoscaling struct {
	MinReplicas         int32 `json:"minReplicas"`
	MaxReplicas         int32 `json:"maxReplicas"`
	TargetCPUPercent    int32 `json:"targetCPUPercent,omitempty"`
	TargetMemoryPercent int32 `json:"targetMemoryPercent,omitempty"`
}

// Resources are raw container requests and limits (cpu, memory, storage).
type Resources struct {
	Requests resource.List `json:"requests"`
	Limits   resource.List `json:"limits,omitempty"`
}

// Tier is a platform-defined capacity profile applications choose instead
// of raw numbers, e.g. "medium": 1 CPU / 2Gi, "~300 TPS".
type Tier struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// Capacity states what one instance handles, e.g. "~300 TPS".
	Capacity        string    `json:"capacity,omitempty"`
	Resources       Resources `json:"resources"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}
