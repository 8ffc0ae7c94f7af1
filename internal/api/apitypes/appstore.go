package apitypes

import (
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/deploy"
)

// StoreChart is one chart of the app store's catalogues at one version.
type StoreChart = appstore.Entry

// InstallRequest installs a chart (POST .../installs) or upgrades an
// install (PUT .../installs/{name}); tenant, project and, on upgrade,
// name come from the path.
type InstallRequest struct {
	Environment string `json:"environment"`
	Name        string `json:"name,omitempty"`
	Catalog     string `json:"catalog"`
	Chart       string `json:"chart"`
	Version     string `json:"version"`
	// Values are YAML over the chart's values.
	Values string `json:"values,omitempty"`
	// VersionOnly (upgrade) creates the chart version without deploying
	// it, for a release order to deploy.
	VersionOnly bool `json:"versionOnly,omitempty"`
	// AllowCRDs lets a chart with CustomResourceDefinitions (crds/)
	// install; only platform admins may set it.
	AllowCRDs bool `json:"allowCRDs,omitempty"`
}

// Install is one install as listed: its deployment and the chart it runs
// (without the rendered objects).
type Install struct {
	Deployment deploy.Deployment `json:"deployment"`
	Chart      apps.Chart        `json:"chart"`
}
