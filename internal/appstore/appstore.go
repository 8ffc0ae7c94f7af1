// Package appstore installs packaged applications — Helm charts — into a
// project through Berth's own path (issue #19, ADR 0019).
//
// An install is an application of its project whose versions are chart
// versions (apps.Chart): the chart is rendered once per version, with the
// Helm SDK, against the target cluster's Kubernetes version and API
// versions, and the version keeps the rendered objects. The deployment
// controller applies them as it applies any version — Berth's labels,
// the environment's namespace, server-side apply as field manager
// "berth", inventory and prune — so quota, audit, stop and start, release
// orders and their automatic rollback hold for installs as for any
// application.
//
// This package holds the rules and the interfaces it consumes: a Renderer
// (implemented with the Helm SDK in package kube, the only one that may
// reach client-go) and Catalogs that hand out chart files. It never talks
// to a cluster or a database itself.
package appstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/resource"
)

// File is one file of a chart, its path relative to the chart's root
// (Chart.yaml, templates/deployment.yaml, ...).
type File struct {
	Name string
	Data []byte
}

// Chart is a chart as a catalogue hands it out: its files (a chart
// directory), or a packaged archive (.tgz).
type Chart struct {
	Files   []File
	Archive []byte
}

// ErrClusterUnreachable is why a render failed when the environment's
// cluster did not answer (its version and API versions are read first):
// nothing was written; trying again later may succeed.
var ErrClusterUnreachable = errors.New("the environment's cluster cannot be reached")

// Bounds of what a catalogue hands out and what a user sends.
const (
	MaxArchiveBytes = 4 << 20
	MaxValuesBytes  = 256 << 10
)

// Entry is one chart of a catalogue at one version.
type Entry struct {
	Catalog     string `json:"catalog"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion,omitempty"`
	Description string `json:"description,omitempty"`
}

// Catalog hands out charts. Get fails with resource.ErrNotFound for a
// chart or version it does not hold.
type Catalog interface {
	Name() string
	List(ctx context.Context) ([]Entry, error)
	Get(ctx context.Context, chart, version string) (Chart, error)
}

// RenderRequest is what to render: a chart as the release Release into
// Namespace, with Values (YAML) over the chart's defaults.
type RenderRequest struct {
	Chart     Chart
	Release   string
	Namespace string
	Values    map[string]any
	// Revision is the Helm revision the templates see (.Release.Revision);
	// Upgrade sets .Release.IsUpgrade.
	Revision int
	Upgrade  bool
	// AllowCRDs lets the chart carry CustomResourceDefinitions (its crds/
	// folder); without it such a chart is refused.
	AllowCRDs bool
}

// Rendered is the result of a render: the chart's metadata and the
// objects, each checked, in the order they are applied.
type Rendered struct {
	Name, Version, AppVersion string
	Objects                   []json.RawMessage
	Digest                    string
	Footprint                 resource.List
	Notes                     string
	// Hooks are the chart's install, upgrade and rollback hooks, in the
	// order they run; CRDs its CustomResourceDefinitions.
	Hooks []apps.Hook
	CRDs  []json.RawMessage
}

// Renderer renders charts for one cluster, reached with kubeconfig. It
// refuses, as a *resource.ValidationError, values that fail the chart's
// values.schema.json (at "values", naming the value's path), templates
// that fail (at "chart", naming the template and line), and objects Berth
// does not install for a project (at "chart": cluster-scoped objects,
// objects of another namespace, delete hooks, workloads whose containers
// request no CPU or memory, CustomResourceDefinitions unless allowed).
type Renderer interface {
	RenderChart(ctx context.Context, cluster string, kubeconfig []byte, req RenderRequest) (Rendered, error)
}

// Install is a request to install, or upgrade, a chart as the application
// Name of a project, deployed in Environment.
type Install struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	Catalog     string `json:"catalog"`
	Chart       string `json:"chart"`
	Version     string `json:"version"`
	// Values is YAML (or JSON) over the chart's values.
	Values string `json:"values,omitempty"`
	// AllowCRDs lets a chart with CustomResourceDefinitions install (a
	// platform admin's decision: they are cluster-wide).
	AllowCRDs bool `json:"allowCRDs,omitempty"`
}

var chartVersionRE = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$`)

// Validate checks in's fields and returns its values decoded.
func (in Install) Validate() (map[string]any, error) {
	var errs resource.Errors
	errs.CheckName("tenant", in.Tenant)
	errs.CheckName("project", in.Project)
	errs.CheckName("environment", in.Environment)
	errs.CheckName("name", in.Name)
	errs.CheckName("catalog", in.Catalog)
	errs.CheckName("chart", in.Chart)
	if !chartVersionRE.MatchString(in.Version) || len(in.Version) > 64 {
		errs.Add("version", "must be a chart version such as 1.2.3, got %q", in.Version)
	}
	vals := map[string]any{}
	switch {
	case len(in.Values) > MaxValuesBytes:
		errs.Add("values", "at most %d bytes, got %d", MaxValuesBytes, len(in.Values))
	case in.Values != "":
		if err := yaml.Unmarshal([]byte(in.Values), &vals); err != nil {
			errs.Add("values", "not a YAML mapping: %v", err)
		}
		if vals == nil {
			vals = map[string]any{}
		}
	}
	return vals, errs.Err()
}

// VersionOf returns the chart version of in as apps.Version name, the
// revision-th of the application.
func VersionOf(in Install, revision int, r Rendered) apps.Version {
	return apps.Version{Tenant: in.Tenant, Project: in.Project, Application: in.Name, Name: fmt.Sprintf("r%d", revision),
		Chart: &apps.Chart{Catalog: in.Catalog, Name: r.Name, Version: r.Version, AppVersion: r.AppVersion, Values: in.Values,
			Objects: r.Objects, Digest: r.Digest, Footprint: r.Footprint, Notes: r.Notes, Hooks: r.Hooks, CRDs: r.CRDs}}
}
