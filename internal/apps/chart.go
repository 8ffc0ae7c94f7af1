package apps

import (
	"encoding/json"
	"fmt"
	"regexp"

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
	switch {
	case len(c.Objects) == 0:
		errs.Add(path+".objects", "the chart rendered no objects")
	case len(c.Objects) > MaxChartObjects:
		errs.Add(path+".objects", "at most %d objects, got %d", MaxChartObjects, len(c.Objects))
	case size > MaxChartBytes:
		errs.Add(path+".objects", "at most %d bytes together, got %d", MaxChartBytes, size)
	}
	if !digestRE.MatchString(c.Digest) {
		errs.Add(path+".digest", "must be sha256:<64 lowercase hex digits>")
	}
	c.Footprint.Validate(errs, path+".footprint")
}

func (c *Chart) String() string { return fmt.Sprintf("chart %s/%s %s", c.Catalog, c.Name, c.Version) }
