package storetest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

var ciKey = pipeline.Key{Tenant: "acme", Project: "payments", Name: "red-auth-ci"}

func ciPipeline() pipeline.Pipeline {
	return pipeline.Pipeline{Key: ciKey, Application: "red-auth",
		Source:   pipeline.Source{Repository: "https://git.example/acme/red-auth.git", Branches: []string{"main", "release/*"}},
		Build:    pipeline.Build{Type: pipeline.Go, Package: "./cmd/server", Image: "registry.example/acme/red-auth", Owner: pipeline.Owner{User: "dora"}},
		Delivery: pipeline.Delivery{Tier: "medium"},
		Stages:   []pipeline.Stage{{Name: "production", Owner: pipeline.Owner{Group: authz.ReleaseManager}, Approval: pipeline.ApprovalRequired, Environment: "prod"}},
		Webhook:  pipeline.Webhook{Provider: pipeline.GitHub}}
}

func (h *harness) pipelineOp(t *testing.T, c platform.Caller, fn func(tx platform.Tx) error) error {
	t.Helper()
	return h.p.Do(t.Context(), c.Actor, audit.Event{Tenant: "acme", Project: "payments", Action: "pipeline.op", Target: ciKey.Path()}, fn)
}

// githubPush is a signed GitHub push of commit by pusher to ref.
func githubPush(secret, delivery, ref, commit, pusher string) (http.Header, []byte) {
	body, _ := json.Marshal(map[string]any{"ref": ref, "after": commit, "sender": map[string]string{"login": pusher}})
	h := http.Header{}
	h.Set("X-GitHub-Event", "push")
	h.Set("X-GitHub-Delivery", delivery)
	h.Set("X-Hub-Signature-256", pipeline.Sign(body, []byte(secret)))
	return h, body
}

// testPipelineRuns: a pipeline is applied (its webhook secret sealed at
// rest, shown once), a signed push queues a run triggered by the pusher,
// a replay and a wrong signature are refused, a push to another branch is
// ignored; the run moves through its steps to a stage that waits, which
// neither its trigger, nor the pipeline's author, nor someone outside the
// owner group may approve, and the owner group's member does, with the
// reason kept; each decision audited.
func testPipelineRuns(t *testing.T, h *harness) {
	dev, _, rm, _ := h.configFixture(t)
	rob := platform.Caller{Actor: audit.Actor{User: "rob"}, Bindings: rm.Bindings}
	var applied pipeline.Applied
	if err := h.pipelineOp(t, dev, func(tx platform.Tx) (err error) {
		applied, err = h.p.ApplyPipeline(t.Context(), tx, dev, ciPipeline(), false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !applied.Created || applied.Secret == "" || applied.Pipeline.Revision != 1 || applied.Pipeline.UpdatedBy != "dora" {
		t.Fatalf("applied %+v", applied)
	}
	var body string
	if err := h.st.DB().QueryRowContext(t.Context(), h.st.Rebind("SELECT body FROM pipelines WHERE name = ?"), ciKey.Name).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, applied.Secret) {
		t.Error("the webhook secret is stored in the clear")
	}
	if err := h.pipelineOp(t, dev, func(tx platform.Tx) error {
		again, err := h.p.ApplyPipeline(t.Context(), tx, dev, ciPipeline(), false)
		if err == nil && (again.Secret != "" || again.Pipeline.Revision != 2) {
			t.Errorf("a change: secret %q, revision %d", again.Secret, again.Pipeline.Revision)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	commit := strings.Repeat("ab", 20)
	receive := func(hd http.Header, b []byte) (pipeline.Run, error) {
		var r pipeline.Run
		err := h.p.Do(t.Context(), audit.Actor{User: "webhook"}, audit.Event{Tenant: "acme", Project: "payments", Action: "pipeline.webhook", Target: ciKey.Path()},
			func(tx platform.Tx) (err error) {
				r, err = h.p.ReceiveWebhook(t.Context(), tx, audit.Actor{User: "webhook"}, ciKey, hd, b)
				return err
			})
		return r, err
	}
	hd, b := githubPush(applied.Secret, "d-1", "refs/heads/main", commit, "rob")
	run, err := receive(hd, b)
	if err != nil {
		t.Fatal(err)
	}
	if run.Number != 1 || run.State != pipeline.Queued || run.Trigger.User != "rob" || run.Commit != commit || len(run.Steps) != 5 || run.Spec.Revision != 2 {
		t.Fatalf("run %+v", run)
	}
	if _, err := receive(hd, b); !errors.Is(err, resource.ErrAlreadyExists) {
		t.Errorf("a replay: %v", err)
	}
	hd2, b2 := githubPush("wrong-secret", "d-2", "refs/heads/main", commit, "rob")
	if _, err := receive(hd2, b2); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("a wrong signature: %v", err)
	}
	hd3, b3 := githubPush(applied.Secret, "d-3", "refs/heads/feature/x", commit, "rob")
	if r, err := receive(hd3, b3); err != nil || r.Number != 0 {
		t.Errorf("a push to an unmatched branch: run %d, %v", r.Number, err)
	}

	k := run.RunKey
	h.tx(t, func(tx platform.Tx) error {
		if n, err := tx.CountRunsInState(t.Context(), "acme", "payments", pipeline.Queued); err != nil || n != 1 {
			t.Errorf("queued runs %d, %v", n, err)
		}
		if _, err := h.p.Pipelines.Start(t.Context(), tx, k); err != nil {
			return err
		}
		for _, s := range pipeline.BuildSteps() {
			if _, err := h.p.Pipelines.BeginStep(t.Context(), tx, k, s); err != nil {
				return err
			}
			if _, err := h.p.Pipelines.EndStep(t.Context(), tx, k, s, nil, "ok", pipeline.StepLog{Bytes: 3, Tail: "ok\n"}); err != nil {
				return err
			}
		}
		_, err := h.p.Pipelines.Wait(t.Context(), tx, k, "production")
		return err
	})
	approve := func(c platform.Caller, reason string) (pipeline.Run, error) {
		var r pipeline.Run
		err := h.pipelineOp(t, c, func(tx platform.Tx) (err error) {
			r, err = h.p.ApproveStage(t.Context(), tx, c, k, "production", reason)
			return err
		})
		return r, err
	}
	admin := platform.Caller{Actor: audit.Actor{User: "dora"}, Bindings: []authz.Binding{{Role: authz.PlatformAdmin, Scope: authz.Platform}}}
	for _, refused := range []struct {
		who  platform.Caller
		want string
	}{
		{rob, "triggered"},
		{admin, "last changed"},
		{platform.Caller{Actor: audit.Actor{User: "ada"}, Bindings: []authz.Binding{{Role: authz.ProjectAdmin, Scope: authz.Scope{Tenant: "acme", Project: "payments"}}}}, "release-manager"},
		{dev, "pipeline:approve"},
	} {
		_, err := approve(refused.who, "")
		var re *resource.RefusedError
		if (!errors.Is(err, resource.ErrForbidden) && !(errors.As(err, &re) && re.Forbidden)) || !strings.Contains(err.Error(), refused.want) {
			t.Errorf("%s approved: %v", refused.who.User, err)
		}
	}
	got, err := approve(rm, "CHG-9 reviewed")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != pipeline.Queued || !got.Approved("production") || got.Decisions[0].By != "rita" || got.Decisions[0].Reason != "CHG-9 reviewed" {
		t.Errorf("after the approval: %+v", got)
	}
	if _, err := approve(rm, "again"); err == nil {
		t.Error("a stage not waiting was approved")
	}

	var cancelled pipeline.Run
	if err := h.pipelineOp(t, rm, func(tx platform.Tx) (err error) {
		cancelled, err = h.p.CancelRun(t.Context(), tx, rm, k, "not today")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if cancelled.State != pipeline.Cancelled || cancelled.EndedAt == nil {
		t.Errorf("cancelled run %+v", cancelled)
	}
	var actions []string
	h.view(t, func(tx platform.Tx) error {
		for _, r := range auditRecords(t, h, tx) {
			if strings.HasPrefix(r.Action, "pipeline.") {
				actions = append(actions, r.Action+" "+string(r.Outcome))
			}
		}
		return nil
	})
	want := []string{"pipeline.create success", "pipeline.update success", "pipeline.trigger success", "pipeline.webhook failure",
		"pipeline.webhook denied", "pipeline.webhook success", "pipeline.start success"}
	for range pipeline.BuildSteps() {
		want = append(want, "pipeline.step success")
	}
	want = append(want, "pipeline.wait success", "pipeline.op failure", "pipeline.op failure", "pipeline.op failure", "pipeline.op denied",
		"pipeline.approve success", "pipeline.op failure", "pipeline.cancel success")
	diff(t, "pipeline audit records", actions, want)
}

// testPipelineBadInput: a pipeline with an unknown build type, a missing
// owner, a group that cannot approve or an unknown environment is refused
// naming each field, and nothing is written.
func testPipelineBadInput(t *testing.T, h *harness) {
	dev, _, _, viewer := h.configFixture(t)
	bad := ciPipeline()
	bad.Build.Type = "ant"
	bad.Build.Owner = pipeline.Owner{}
	bad.Stages = append(bad.Stages, pipeline.Stage{Name: "uat", Owner: pipeline.Owner{Group: authz.Developer}, Approval: pipeline.ApprovalRequired})
	bad.Source.Repository = "ssh://git.example/x"
	err := h.pipelineOp(t, dev, func(tx platform.Tx) error {
		_, err := h.p.ApplyPipeline(t.Context(), tx, dev, bad, false)
		return err
	})
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a validation error", err)
	}
	for _, f := range []string{"build.type", "build.owner", "stages[1].owner.group", "source.repository"} {
		if !strings.Contains(err.Error(), f+":") {
			t.Errorf("the error does not name %s: %v", f, err)
		}
	}
	noEnv := ciPipeline()
	noEnv.Stages[0].Environment = "nowhere"
	if err := h.pipelineOp(t, dev, func(tx platform.Tx) error {
		_, err := h.p.ApplyPipeline(t.Context(), tx, dev, noEnv, false)
		return err
	}); err == nil || !strings.Contains(err.Error(), "stages[0].environment") {
		t.Errorf("an unknown environment: %v", err)
	}
	if err := h.pipelineOp(t, viewer, func(tx platform.Tx) error {
		_, err := h.p.ApplyPipeline(t.Context(), tx, viewer, ciPipeline(), false)
		return err
	}); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("a viewer applied a pipeline: %v", err)
	}
	h.view(t, func(tx platform.Tx) error {
		if l, err := tx.ListPipelines(t.Context(), "acme", "payments", "", 10); err != nil || len(l) != 0 {
			t.Errorf("pipelines after refusals: %v, %v", l, err)
		}
		return nil
	})
}
