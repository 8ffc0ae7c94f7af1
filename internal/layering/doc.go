// Package layering holds no code: its tests enforce which Berth packages may
// import and reach what (docs/architecture.md, "Layers"). The table of layers
// is in layers_test.go, the same statement as the document's; every package
// of the module must be in it.
package layering
