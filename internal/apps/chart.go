package apps

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"

	"berth.dev/berth/internal/resource"
)

// Chart is what a chart version of an application is made of: the Helm
// chart it was rendered from, the values given, and the result. Rendering
// happens once, when the version is created (package appstore), against
// the target cluster's version and API versions; the version keeps the
// objects, so a rollback to it applies exactly what was installed then.
type Chart struct {
	// Catalog, Name and Version name the chart: the catalogue it came
	// from, the chart's name and its version (SemVer).
	Catalog string `json:"catalog"`
	Name    string `json:"name"`
	Version string `json:"version"`
	// AppVersion is the chart's appVersion, for display.
	AppVersion string `json:"appVersion,omitempty"`
	// Values are the values given at install or upgrade, as YAML, over the
	// chart's own defaults.
	Values string `json:"values,omitempty"`
	// Objects are the rendered objects, each a JSON object, in apply
	// order; Digest is sha256 over them (ObjectsDigest).
	Objects []json.RawMessage `json:"objects"`
	Digest  string            `json:"digest"`
	// Footprint is what the objects' workloads request: each container's
	// requests times the workload's replicas, and one container per
	// replica. It is what the version reserves against quota.
	Footprint resource.List `json:"footprint"`
	// Notes are the chart's rendered NOTES.txt.
	Notes string `json:"notes,omitempty"`
	// Hooks are the chart's Helm hooks, in the order they run
	// (SortHooks): the deployment controller runs those of an event
	// around the apply of the objects (docs/app-store.md).
	Hooks []Hook `json:"hooks,omitempty"`
	// CRDs are the chart's CustomResourceDefinitions (its crds/ folder),
	// applied, and established, before anything else; only a platform
	// admin may install a chart that has them.
	CRDs []json.RawMessage `json:"crds,omitempty"`
}

// Hook is one Helm hook of a chart version: an object created when one
// of its events happens, and waited for — a Job until it completes, a Pod
// until it ends; any other kind once created.
type Hook struct {
	// Name, Kind and Template name the object and the template it came
	// from.
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Template string `json:"template"`
	// Events are when it runs (HookPreInstall, ...).
	Events []string `json:"events"`
	// Weight orders the hooks of one event, lowest first
	// (helm.sh/hook-weight); ties run in name order.
	Weight int `json:"weight"`
	// DeletePolicies say when the object is deleted: before it is created
	// again (HookBeforeHookCreation, the default), once it succeeded, once
	// it failed (helm.sh/hook-delete-policy).
	DeletePolicies []string `json:"deletePolicies,omitempty"`
	// Object is the rendered object.
	Object json.RawMessage `json:"object"`
}

// The hook events Berth runs, and the delete policies it honours, named as
// in Helm's helm.sh/hook and helm.sh/hook-delete-policy annotations.
const (
	HookPreInstall   = "pre-install"
	HookPostInstall  = "post-install"
	HookPreUpgrade   = "pre-upgrade"
	HookPostUpgrade  = "post-upgrade"
	HookPreRollback  = "pre-rollback"
	HookPostRollback = "post-rollback"

	HookBeforeHookCreation = "before-hook-creation"
	HookSucceeded          = "hook-succeeded"
	HookFailed             = "hook-failed"
)

// HooksOf returns the hooks of c that run at event, in order. It keeps
// c's slice.
func (c *Chart) HooksOf(event string) []Hook {
	var out []Hook
	for _, h := range c.Hooks {
		if slices.Contains(h.Events, event) {
			out = append(out, h)
		}
	}
	return out
}

// SortHooks sorts hooks in the order they run: by weight, then by name.
func SortHooks(hooks []Hook) {
	sort.SliceStable(hooks, func(i, j int) bool {
		if hooks[i].Weight != hooks[j].Weight {
			return hooks[i].Weight < hooks[j].Weight
		}
		return hooks[i].Name < hooks[j].Name
	})
}

// DeletesOn reports whether h's object is deleted at policy.
func (h Hook) DeletesOn(policy string) bool {
	if len(h.DeletePolicies) == 0 {
		return policy == HookBeforeHookCreation
	}
	return slices.Contains(h.DeletePolicies, policy)
}

// Bounds of a chart version.
const (
	MaxChartObjects = 200
	MaxChartBytes   = 2 << 20 // of the objects together, and of the values
)

var semverRE = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$`)

func validateChart(errs *resource.Errors, path string, c Chart) {
	errs.CheckName(path+".catalog", c.Catalog)
	errs.CheckName(path+".name", c.Name)
	if !semverRE.MatchString(c.Version) || len(c.Version) > 64 {
		errs.Add(path+".version", "must be a SemVer version such as 1.2.3, got %q", c.Version)
	}
	errs.CheckLen(path+".appVersion", c.AppVersion, 128)
	errs.CheckLen(path+".values", c.Values, MaxChartBytes)
	errs.CheckLen(path+".notes", c.Notes, 64<<10)
	size := 0
	for _, o := range c.Objects {
		size += len(o)
	}
	for _, h := range c.Hooks {
		size += len(h.Object)
	}
	for _, o := range c.CRDs {
		size += len(o)
	}
	switch {
	case len(c.Objects) == 0:
		errs.Add(path+".objects", "the chart rendered no objects")
	case len(c.Objects)+len(c.Hooks)+len(c.CRDs) > MaxChartObjects:
		errs.Add(path+".objects", "at most %d objects with the hooks and CRDs, got %d", MaxChartObjects, len(c.Objects)+len(c.Hooks)+len(c.CRDs))
	case size > MaxChartBytes:
		errs.Add(path+".objects", "at most %d bytes together, got %d", MaxChartBytes, size)
	}
	if !digestRE.MatchString(c.Digest) {
		errs.Add(path+".digest", "must be sha256:<64 lowercase hex digits>")
	}
	c.Footprint.Validate(errs, path+".footprint")
}

func (c *Chart) String() string { return fmt.Sprintf("chart %s/%s %s", c.Catalog, c.Name, c.Version) }
