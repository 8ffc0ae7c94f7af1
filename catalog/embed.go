// Package catalog is Berth's starter catalogue of Helm charts, written
// for Berth and embedded in the binary as the platform-wide catalogue
// "starter" (docs/app-store.md): a Java service template, a static front
// end, Redis and PostgreSQL. Each chart is a folder named as the chart.
package catalog

import "embed"

// Name is the starter catalogue's name.
const Name = "starter"

// Charts holds one folder per chart.
//
//go:embed all:java-service all:static-site all:redis all:postgresql
var Charts embed.FS
