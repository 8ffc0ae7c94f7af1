package pipelinecmd

import (
	"strings"
	"testing"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/pipeline"
)

// The example of the README's tour reads as a Pipeline manifest and is a
// valid pipeline; a typo in a field is refused by name before anything is
// sent.
func TestManifestsAreReadStrictly(t *testing.T) {
	d, err := readManifest(cli.Env{}, "../../../examples/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := d.Spec.Pipeline(pipeline.Key{Tenant: d.Metadata.Tenant, Project: d.Metadata.Project, Name: d.Metadata.Name})
	if err := p.Validate(); err != nil {
		t.Errorf("the example is not a valid pipeline: %v", err)
	}
	bad := "apiVersion: berth.dev/v1\nkind: Pipeline\nmetadata: {name: x}\nspec: {application: a, buidl: {type: go}}\n"
	if _, err := readManifest(cli.Env{Stdin: strings.NewReader(bad)}, "-"); err == nil || !strings.Contains(err.Error(), "buidl") {
		t.Errorf("a misspelt field: %v", err)
	}
	if _, err := readManifest(cli.Env{Stdin: strings.NewReader("apiVersion: berth.dev/v1\nkind: Application\nmetadata: {name: x}\n")}, "-"); err == nil {
		t.Error("another kind was read as a pipeline")
	}
}
