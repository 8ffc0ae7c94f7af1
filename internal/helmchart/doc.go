// Package helmchart holds the tests of Berth's Helm chart,
// deploy/helm/berth: they lint and render it with the Helm v4 SDK, check
// what its users rely on (replicas, probes, least-privilege RBAC, secret
// references, the values schema) and apply what it renders to the local
// cluster with a server-side dry run. It has no code of its own.
package helmchart
