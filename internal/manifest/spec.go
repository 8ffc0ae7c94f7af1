package manifest

import (
	"fmt"
	"reflect"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/resource"
)

// TenantSpec is a Tenant's desired state.
type TenantSpec struct {
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
}

// ProjectSpec is a Project's desired state (metadata.tenant required).
type ProjectSpec struct {
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
}

// EnvironmentSpec binds an environment of a project to a registered
// cluster and a namespace in it.
type EnvironmentSpec struct {
	Cluster     string `json:"cluster"`
	Namespace   string `json:"namespace"`
	Description string `json:"description,omitempty"`
	// Traffic is the traffic provider: gateway (default), istio or gatewayapi.
	Traffic string `json:"traffic,omitempty"`
	// Gateway is the ingress gateway mesh routes attach to (gatewayapi: required).
	Gateway string `json:"gateway,omitempty"`
	// RequiredApprovals is how many people other than its creator must
	// approve a release order for this environment (e.g. 1 for prod).
	RequiredApprovals int `json:"requiredApprovals,omitempty"`
}

// ClusterSpec registers a Kubernetes cluster by its kubeconfig (the file's
// content, kept sealed by the server and never shown again).
type ClusterSpec struct {
	DisplayName string            `json:"displayName,omitempty"`
	Zone        string            `json:"zone,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Kubeconfig  string            `json:"kubeconfig"`
	// QPS and Burst are the cluster's request rate (tenancy.Cluster); 0
	// takes the server's.
	QPS   int `json:"qps,omitempty"`
	Burst int `json:"burst,omitempty"`
}

// ApplicationSpec is an application of a project and, optionally, the
// version it runs: applying it creates that version (versions are
// immutable: an existing one is left alone) and makes it current.
type ApplicationSpec struct {
	DisplayName string       `json:"displayName,omitempty"`
	Description string       `json:"description,omitempty"`
	Version     *VersionSpec `json:"version,omitempty"`
}

// VersionSpec is an immutable application asset (F3).
type VersionSpec struct {
	Name          string             `json:"name"`
	Image         string             `json:"image"`
	Digest        string             `json:"digest,omitempty"`
	Source        apps.Source        `json:"source,omitzero"`
	Orchestration apps.Orchestration `json:"orchestration"`
	// Tier names the resource tier (F4) the version runs with.
	Tier     string `json:"tier"`
	Pipeline string `json:"pipeline,omitempty"`
}

// ResourceTierSpec is a named capacity profile (F4).
type ResourceTierSpec struct {
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// Capacity states what one instance handles, e.g. "~300 TPS".
	Capacity string        `json:"capacity,omitempty"`
	Requests resource.List `json:"requests"`
	Limits   resource.List `json:"limits,omitempty"`
}

// QuotaSpec sets the quota of a tenant (metadata.tenant) or of a project
// (metadata.tenant and metadata.project).
type QuotaSpec struct {
	Hard resource.List `json:"hard"`
}

// MemberSpec grants a user a role at the scope of metadata.tenant and
// metadata.project (both empty: the platform).
type MemberSpec struct {
	User string     `json:"user"`
	Role authz.Role `json:"role"`
}

// GroupBindingSpec grants Role, at the scope of metadata.tenant and
// metadata.project, to every person Provider reports a member of Group.
type GroupBindingSpec struct {
	Provider string     `json:"provider"`
	Group    string     `json:"group"`
	Role     authz.Role `json:"role"`
}

// ConfigItemSpec is a config item of metadata.tenant and
// metadata.project's Environment, keyed by Group (DEFAULT_GROUP when
// empty) and DataID; Comment and Ticket go on the revision it publishes.
type ConfigItemSpec struct {
	Environment string   `json:"environment"`
	Group       string   `json:"group,omitempty"`
	DataID      string   `json:"dataId"`
	Type        string   `json:"type,omitempty"`
	Description *string  `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Secret      bool     `json:"secret,omitempty"`
	Content     string   `json:"content"`
	Comment     string   `json:"comment,omitempty"`
	Ticket      string   `json:"ticket,omitempty"`
}

// GrayPlanSpec is the gray plan of the application named by
// metadata.name in an environment: applying it starts the plan (when none
// runs) or brings the running one to these steps, current step, side and
// gray replicas. Promote, abort and end are actions: `berth gray`.
type GrayPlanSpec struct {
	Environment  string        `json:"environment"`
	GrayVersion  string        `json:"grayVersion"`
	Strategy     gray.Strategy `json:"strategy,omitempty"`
	GrayReplicas *int32        `json:"grayReplicas,omitempty"`
	Steps        []gray.Step   `json:"steps,omitempty"`
	Step         int           `json:"step,omitempty"`
	Side         string        `json:"side,omitempty"`
}

// ReleaseOrderSpec is a release order (metadata.tenant and
// metadata.project; metadata.name is not used, the server assigns the ID).
// Give the items with their dependencies, or as stages run one after the
// other, each stage's items in parallel.
type ReleaseOrderSpec struct {
	Environment string `json:"environment"`
	Title       string `json:"title"`
	Ticket      string `json:"ticket,omitempty"`
	Parallelism int    `json:"parallelism,omitempty"`
	// Deadline is each item's time to become ready, e.g. "5m".
	Deadline string          `json:"deadline,omitempty"`
	Items    []ReleaseItem   `json:"items,omitempty"`
	Stages   [][]ReleaseItem `json:"stages,omitempty"`
}

// ReleaseItem is one application of a release order.
type ReleaseItem struct {
	Application string   `json:"application"`
	Version     string   `json:"version"`
	DependsOn   []string `json:"dependsOn,omitempty"`
	Deadline    string   `json:"deadline,omitempty"`
	// Checks are metric checks the new version must pass once ready
	// (docs/release-orders.md).
	Checks []analysis.Check `json:"checks,omitempty"`
}

// AlertRuleSpec is an alert rule of the project (alert.Rule): a template
// with its threshold, or a custom expr; the service validates it and
// Prometheus's promtool checks it.
type AlertRuleSpec struct {
	Environment string            `json:"environment"`
	Application string            `json:"application,omitempty"`
	Template    string            `json:"template,omitempty"`
	Threshold   string            `json:"threshold,omitempty"`
	Window      string            `json:"window,omitempty"`
	Expr        string            `json:"expr,omitempty"`
	For         string            `json:"for,omitempty"`
	Severity    string            `json:"severity,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Summary     string            `json:"summary,omitempty"`
}

// AlertReceiverSpec is where the project's alerts go (alert.Receiver).
type AlertReceiverSpec struct {
	Kind       string   `json:"kind"`
	URL        string   `json:"url"`
	Severities []string `json:"severities,omitempty"`
}

// SLOSpec is a service level objective of one application in one
// environment (slo.SLO): availability, or latency within a threshold, as
// a percentage over a window (default 30d).
type SLOSpec struct {
	Environment string  `json:"environment"`
	Application string  `json:"application"`
	Kind        string  `json:"kind"`
	Objective   float64 `json:"objective"`
	Threshold   string  `json:"threshold,omitempty"`
	Window      string  `json:"window,omitempty"`
}

// AppInstallSpec is an app-store install (appstore.Install): the chart
// of a catalogue (default "starter") at a version, with values over its
// own, deployed in an environment of the project. The install's name is
// the application's.
type AppInstallSpec struct {
	Environment string         `json:"environment"`
	Catalog     string         `json:"catalog,omitempty"`
	Chart       string         `json:"chart"`
	Version     string         `json:"version"`
	Values      map[string]any `json:"values,omitempty"`
	// AllowCRDs lets a chart with CustomResourceDefinitions install
	// (platform admins).
	AllowCRDs bool `json:"allowCRDs,omitempty"`
}

// PipelineSpec is an application's pipeline (pipeline.Pipeline): the same
// spec as PUT .../pipelines/{pipeline} takes.
type PipelineSpec struct {
	Application string             `json:"application"`
	Source      pipeline.Source    `json:"source"`
	Build       pipeline.Build     `json:"build"`
	Delivery    pipeline.Delivery  `json:"delivery"`
	Stages      []pipeline.Stage   `json:"stages,omitempty"`
	Timeout     *resource.Duration `json:"timeout,omitempty"`
	Webhook     pipeline.Webhook   `json:"webhook"`
}

// Pipeline returns the pipeline k with spec s.
func (s PipelineSpec) Pipeline(k pipeline.Key) pipeline.Pipeline {
	p := pipeline.Pipeline{Key: k, Application: s.Application, Source: s.Source, Build: s.Build, Delivery: s.Delivery,
		Stages: s.Stages, Webhook: s.Webhook}
	if s.Timeout != nil {
		p.Timeout = *s.Timeout
	}
	return p
}

var specTypes = map[Kind]reflect.Type{
	KindReleaseOrder: reflect.TypeFor[ReleaseOrderSpec](),
	KindTenant:       reflect.TypeFor[TenantSpec](),
	KindProject:      reflect.TypeFor[ProjectSpec](),
	KindEnvironment:  reflect.TypeFor[EnvironmentSpec](),
	KindCluster:      reflect.TypeFor[ClusterSpec](),
	KindApplication:  reflect.TypeFor[ApplicationSpec](),
	KindResourceTier: reflect.TypeFor[ResourceTierSpec](),
	KindQuota:        reflect.TypeFor[QuotaSpec](),
	KindMember:       reflect.TypeFor[MemberSpec](),
	KindGroupBinding: reflect.TypeFor[GroupBindingSpec](),
	KindGrayPlan:     reflect.TypeFor[GrayPlanSpec](),

	KindPortPool:         reflect.TypeFor[PortPoolSpec](),
	KindPortGrant:        reflect.TypeFor[PortGrantSpec](),
	KindNetworkIsolation: reflect.TypeFor[NetworkIsolationSpec](),

	KindTerminalPolicy: reflect.TypeFor[TerminalPolicySpec](),
	KindConfigItem:     reflect.TypeFor[ConfigItemSpec](),

	KindAlertRule:     reflect.TypeFor[AlertRuleSpec](),
	KindAlertReceiver: reflect.TypeFor[AlertReceiverSpec](),
	KindSLO:           reflect.TypeFor[SLOSpec](),
	KindAppInstall:    reflect.TypeFor[AppInstallSpec](),
	KindPipeline:      reflect.TypeFor[PipelineSpec](),
}

// placement says which metadata fields a kind requires (true), forbids
// (false) or leaves optional (absent).
var placement = map[Kind]struct{ name, tenant, project *bool }{
	KindTenant:       {name: yes, tenant: no, project: no},
	KindProject:      {name: yes, tenant: yes, project: no},
	KindEnvironment:  {name: yes, tenant: yes, project: yes},
	KindCluster:      {name: yes, tenant: no, project: no},
	KindApplication:  {name: yes, tenant: yes, project: yes},
	KindResourceTier: {name: yes, tenant: no, project: no},
	KindQuota:        {tenant: yes},
	KindMember:       {},
	KindGroupBinding: {name: yes},
	KindGrayPlan:     {name: yes, tenant: yes, project: yes},
	KindReleaseOrder: {tenant: yes, project: yes},

	KindPortPool:         {name: yes, tenant: no, project: no},
	KindPortGrant:        {name: no, tenant: yes},
	KindNetworkIsolation: {name: no, tenant: yes},

	KindTerminalPolicy: {name: yes, tenant: no, project: no},
	KindConfigItem:     {name: no, tenant: yes, project: yes},

	KindAlertRule:     {name: yes, tenant: yes, project: yes},
	KindAlertReceiver: {name: yes, tenant: yes, project: yes},
	KindSLO:           {name: yes, tenant: yes, project: yes},
	KindAppInstall:    {name: yes, tenant: yes, project: yes},
	KindPipeline:      {name: yes, tenant: yes, project: yes},
}

var yes, no = ptr(true), ptr(false)

func ptr(b bool) *bool { return &b }

// Validate checks obj's metadata and spec, returning a
// *resource.ValidationError with every bad field.
func Validate(obj Object) error {
	var errs resource.Errors
	p := placement[obj.Kind]
	place(&errs, "metadata.name", obj.Metadata.Name, p.name)
	place(&errs, "metadata.tenant", obj.Metadata.Tenant, p.tenant)
	place(&errs, "metadata.project", obj.Metadata.Project, p.project)
	if obj.Metadata.Project != "" && obj.Metadata.Tenant == "" {
		errs.Add("metadata.tenant", "must be set when metadata.project is")
	}
	switch s := obj.Spec.(type) {
	case *TenantSpec:
		errs.CheckLen("spec.displayName", s.DisplayName, 128)
		errs.CheckLen("spec.description", s.Description, 1024)
	case *ProjectSpec:
		errs.CheckLen("spec.displayName", s.DisplayName, 128)
		errs.CheckLen("spec.description", s.Description, 1024)
	case *EnvironmentSpec:
		errs.CheckName("spec.cluster", s.Cluster)
		errs.CheckName("spec.namespace", s.Namespace)
	case *ClusterSpec:
		if s.Kubeconfig == "" {
			errs.Add("spec.kubeconfig", "must not be empty")
		}
	case *ApplicationSpec:
		errs.CheckLen("spec.displayName", s.DisplayName, 128)
		if v := s.Version; v != nil {
			errs.CheckName("spec.version.name", v.Name)
			errs.CheckName("spec.version.tier", v.Tier)
			if v.Image == "" {
				errs.Add("spec.version.image", "must not be empty")
			}
		}
	case *ResourceTierSpec:
		if len(s.Requests) == 0 {
			errs.Add("spec.requests", "must name at least one resource")
		}
		s.Requests.Validate(&errs, "spec.requests")
		s.Limits.Validate(&errs, "spec.limits")
	case *QuotaSpec:
		s.Hard.Validate(&errs, "spec.hard")
	case *GrayPlanSpec:
		errs.CheckName("spec.environment", s.Environment)
		errs.CheckName("spec.grayVersion", s.GrayVersion)
	case *ReleaseOrderSpec:
		validateReleaseOrder(&errs, s)
	case *PortPoolSpec, *PortGrantSpec, *NetworkIsolationSpec:
		validateNetwork(&errs, s)
	case *ConfigItemSpec:
		errs.CheckName("spec.environment", s.Environment)
		if s.DataID == "" {
			errs.Add("spec.dataId", "must not be empty")
		}
	case *GroupBindingSpec:
		if s.Provider == "" {
			errs.Add("spec.provider", "must not be empty")
		}
		if s.Group == "" {
			errs.Add("spec.group", "must not be empty")
		}
		scope := authz.Scope{Tenant: obj.Metadata.Tenant, Project: obj.Metadata.Project}
		if err := authz.Validate(s.Role, scope); err != nil {
			errs.Add("spec.role", "%s", err.Error())
		}
	case *TerminalPolicySpec:
		if err := s.Policy(obj.Metadata.Name).Validate(); err != nil {
			addFields(&errs, "spec.", err)
		}
	case *MemberSpec:
		if s.User == "" {
			errs.Add("spec.user", "must not be empty")
		}
		scope := authz.Scope{Tenant: obj.Metadata.Tenant, Project: obj.Metadata.Project}
		if err := authz.Validate(s.Role, scope); err != nil {
			errs.Add("spec.role", "%s", err.Error())
		}
	}
	return errs.Err()
}

func place(errs *resource.Errors, path, v string, want *bool) {
	switch {
	case want == nil:
		if v != "" {
			errs.CheckName(path, v)
		}
	case *want:
		errs.CheckName(path, v)
	case v != "":
		errs.Add(path, "must not be set for this kind")
	}
}

func validateReleaseOrder(errs *resource.Errors, s *ReleaseOrderSpec) {
	errs.CheckName("spec.environment", s.Environment)
	if s.Title == "" {
		errs.Add("spec.title", "must not be empty")
	}
	if (len(s.Items) == 0) == (len(s.Stages) == 0) {
		errs.Add("spec.items", "give items or stages, exactly one of them")
	}
	checkDeadline(errs, "spec.deadline", s.Deadline)
	for i, it := range s.Items {
		checkItem(errs, fmt.Sprintf("spec.items[%d]", i), it)
	}
	for i, stage := range s.Stages {
		for j, it := range stage {
			checkItem(errs, fmt.Sprintf("spec.stages[%d][%d]", i, j), it)
		}
	}
}

func checkItem(errs *resource.Errors, path string, it ReleaseItem) {
	errs.CheckName(path+".application", it.Application)
	errs.CheckName(path+".version", it.Version)
	checkDeadline(errs, path+".deadline", it.Deadline)
	analysis.Validate(errs, path+".checks", it.Checks, false)
}

func checkDeadline(errs *resource.Errors, path, d string) {
	if d == "" {
		return
	}
	if _, err := time.ParseDuration(d); err != nil {
		errs.Add(path, "want a duration such as 90s or 5m, got %q", d)
	}
}
