package localcluster

import (
	"bytes"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestStagesRenderToValidStageDocuments(t *testing.T) {
	out, err := kwokStages("")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("[%")) {
		t.Fatal("rendered stages still hold Berth template actions")
	}
	docs := strings.Split(string(out), "\n---\n")
	names := map[string]bool{}
	for i, doc := range docs {
		var stage struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Next struct {
					StatusTemplate string `json:"statusTemplate"`
				} `json:"next"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &stage); err != nil {
			t.Fatalf("document %d does not parse: %v\n%s", i, err, doc)
		}
		if stage.Kind != "Stage" || stage.Metadata.Name == "" {
			t.Errorf("document %d: kind %q name %q", i, stage.Kind, stage.Metadata.Name)
		}
		names[stage.Metadata.Name] = true
	}
	for _, want := range []string{"berth-pod-create", "berth-pod-ready", "berth-pod-crash-loop-exit",
		"berth-pod-crash-after-ready-exit", "berth-pod-image-pull-error", "berth-pod-complete", "berth-tekton-steps-end", "berth-pod-delete"} {
		if !names[want] {
			t.Errorf("stage %s missing", want)
		}
	}
}

func TestStagesGiveEveryPodTheFixedIPWhenOneIsSet(t *testing.T) {
	def, err := kwokStages("")
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := kwokStages("192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(def, []byte("PodIPWith")) || bytes.Contains(def, []byte("192.0.2.7")) {
		t.Fatal("default stages should let kwok allocate pod IPs")
	}
	if bytes.Contains(fixed, []byte("PodIPWith")) {
		t.Fatal("stages with a fixed pod IP still allocate from kwok's range")
	}
	if n := bytes.Count(fixed, []byte(`podIP: "192.0.2.7"`)); n == 0 {
		t.Fatalf("no pod gets the fixed IP:\n%s", fixed)
	}
}
