// Package layering holds no code: its test enforces which Berth packages may
// import what (docs/architecture.md, "Layers"), so the architecture stays
// as drawn.
package layering
