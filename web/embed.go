// Package web holds the Berth console: its React sources (built by npm into
// dist/) and, for the Go side, the built files embedded in the binary.
package web

import "embed"

// Dist is the built console under "dist/": index.html and Vite's hashed
// assets/. Before the first console build it holds only the placeholder
// dist/.keep, and internal/console answers that the console is not built.
//
//go:embed all:dist
var Dist embed.FS
