package pipeline_test

import (
	"bytes"
	"strings"
	"testing"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/pipeline"
)

func valid() pipeline.Pipeline {
	return pipeline.Pipeline{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}, Application: "red-auth",
		Source:   pipeline.Source{Repository: "https://git.example/red-auth.git"},
		Build:    pipeline.Build{Type: pipeline.Go, Package: ".", Image: "registry.example/bank/red-auth", Owner: pipeline.Owner{User: "dora"}},
		Delivery: pipeline.Delivery{Tier: "small"},
		Stages:   []pipeline.Stage{{Name: "prod", Owner: pipeline.Owner{Group: authz.ReleaseManager}, Approval: pipeline.ApprovalRequired}},
		Webhook:  pipeline.Webhook{Provider: pipeline.Gitea}}
}

func TestValidateNamesEachBadField(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *pipeline.Pipeline)
		field  string // "" for valid
	}{
		{"a complete pipeline", func(*pipeline.Pipeline) {}, ""},
		{"a maven build without a main class", func(p *pipeline.Pipeline) { p.Build.Type = pipeline.Maven }, "build.mainClass"},
		{"a maven build with a main class that is not a class name", func(p *pipeline.Pipeline) {
			p.Build.Type, p.Build.MainClass = pipeline.Maven, "bank.teller.Main; rm -rf /"
		}, "build.mainClass"},
		{"a maven build on a base", func(p *pipeline.Pipeline) {
			p.Build.Type, p.Build.MainClass, p.Build.Base = pipeline.Maven, "bank.teller.Main", "registry.example/base/jre:17"
		}, ""},
		{"an npm build with its default output", func(p *pipeline.Pipeline) { p.Build.Type = pipeline.Npm }, ""},
		{"an npm build whose output leaves the repository", func(p *pipeline.Pipeline) { p.Build.Type, p.Build.Output = pipeline.Npm, "../../etc" }, "build.output"},
		{"an npm build on a base that is an option", func(p *pipeline.Pipeline) { p.Build.Type, p.Build.Base = pipeline.Npm, "--insecure" }, "build.base"},
		{"a go build on a base", func(p *pipeline.Pipeline) { p.Build.Base = "registry.example/base/jre:17" }, "build.base"},
		{"an unknown build type", func(p *pipeline.Pipeline) { p.Build.Type = "ant" }, "build.type"},
		{"a build without an owner", func(p *pipeline.Pipeline) { p.Build.Owner = pipeline.Owner{} }, "build.owner"},
		{"an owner that is a user and a group", func(p *pipeline.Pipeline) { p.Stages[0].Owner.User = "rita" }, "stages[0].owner"},
		{"an approving group that cannot approve", func(p *pipeline.Pipeline) { p.Stages[0].Owner.Group = authz.Viewer }, "stages[0].owner.group"},
		{"a package outside the repository", func(p *pipeline.Pipeline) { p.Build.Package = "../other" }, "build.package"},
		{"an image with a tag", func(p *pipeline.Pipeline) { p.Build.Image = "registry.example/bank/red-auth:1" }, "build.image"},
		{"a repository that is an option", func(p *pipeline.Pipeline) { p.Source.Repository = "--upload-pack=touch /tmp/x" }, "source.repository"},
		{"an ssh repository", func(p *pipeline.Pipeline) { p.Source.Repository = "git@git.example:a.git" }, "source.repository"},
		{"a stage named build", func(p *pipeline.Pipeline) { p.Stages[0].Name = "build" }, "stages[0].name"},
		{"an unknown approval", func(p *pipeline.Pipeline) { p.Stages[0].Approval = "maybe" }, "stages[0].approval"},
		{"an unknown webhook provider", func(p *pipeline.Pipeline) { p.Webhook.Provider = "bitbucket" }, "webhook.provider"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			tc.change(&p)
			err := p.Validate()
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (err == nil || !strings.Contains(err.Error(), tc.field+":")):
				t.Fatalf("got %v, want an error naming %s", err, tc.field)
			}
		})
	}
}

func TestBranchRules(t *testing.T) {
	s := pipeline.Source{Branches: []string{"main", "release/*"}}
	for ref, want := range map[string]bool{"refs/heads/main": true, "refs/heads/release/1.2": true, "refs/heads/release/1/2": false,
		"refs/heads/feature": false, "refs/tags/main": false, "main": false} {
		if got := s.Matches(ref); got != want {
			t.Errorf("%s: %v, want %v", ref, got, want)
		}
	}
	if !(pipeline.Source{}).Matches("refs/heads/main") || (pipeline.Source{}).Matches("refs/heads/dev") {
		t.Error("no rules is not main only")
	}
}

func TestStepLogsAreBoundedAndKeepTheirTail(t *testing.T) {
	logs, err := pipeline.NewLogs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k := pipeline.RunKey{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}, Number: 1}
	w, err := logs.Create(k, "build")
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	for range pipeline.MaxStepLog/len(line) + 10 {
		_, _ = w.Write(line)
	}
	_, _ = w.Write([]byte("the last line\n"))
	written, dropped, tail := w.Close()
	if written != pipeline.MaxStepLog || dropped != int64(10*len(line)+len("the last line\n")) {
		t.Errorf("written %d, dropped %d", written, dropped)
	}
	if len(tail) != pipeline.TailBytes || !strings.HasSuffix(tail, "the last line\n") {
		t.Errorf("tail of %d bytes ending %q", len(tail), tail[len(tail)-20:])
	}
	var total int64
	for off := int64(0); ; {
		b, err := logs.Read(k, "build", off)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		if off+int64(len(b)) > pipeline.MaxStepLog && !bytes.Contains(b, []byte("were not kept")) {
			t.Error("the kept log does not say what was dropped")
		}
		off += int64(len(b))
		total = off
	}
	if total <= pipeline.MaxStepLog || total > pipeline.MaxStepLog+200 {
		t.Errorf("the kept log is %d bytes", total)
	}
}

// TestARetryUndoesTheApprovalsOfTheStagesItRunsAgain: an approval of a
// stage counts until a retry from that stage or an earlier step; a retry
// from a later stage leaves it.
func TestARetryUndoesTheApprovalsOfTheStagesItRunsAgain(t *testing.T) {
	steps := []pipeline.Step{{Name: pipeline.StepClone}, {Name: pipeline.StepBuild}, {Name: pipeline.StepPush}, {Name: pipeline.StepVersion},
		{Name: "uat"}, {Name: "prod"}}
	approved := pipeline.Decision{Stage: "uat", Verdict: pipeline.Approved, By: "rita"}
	tests := []struct {
		name      string
		decisions []pipeline.Decision
		want      bool
	}{
		{"an approval", []pipeline.Decision{approved}, true},
		{"an approval, then a retry from the build", []pipeline.Decision{approved, {Stage: pipeline.StepClone, Verdict: pipeline.Retry}}, false},
		{"an approval, then a retry from the stage itself", []pipeline.Decision{approved, {Stage: "uat", Verdict: pipeline.Retry}}, false},
		{"an approval, then a retry from a later stage", []pipeline.Decision{approved, {Stage: "prod", Verdict: pipeline.Retry}}, true},
		{"a retry, then an approval", []pipeline.Decision{{Stage: pipeline.StepClone, Verdict: pipeline.Retry}, approved}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := pipeline.Run{Steps: steps, Decisions: tc.decisions}
			if got := r.Approved("uat"); got != tc.want {
				t.Errorf("Approved(uat) = %v, want %v", got, tc.want)
			}
		})
	}
}
