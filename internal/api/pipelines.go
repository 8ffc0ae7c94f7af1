package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// Pipelines (docs/pipelines.md): their specs, runs, decisions, build logs
// and the push webhook, whose signature is its authentication.
func (a *API) registerPipelines() {
	list := "/tenants/{tenant}/projects/{project}/pipelines"
	one := list + "/{pipeline}"
	run := one + "/runs/{run}"
	a.route(Route{Method: "GET", Path: list, Summary: "List a project's pipelines", Query: pageQuery, Response: "List[PipelineView]"}, a.listPipelines)
	a.route(Route{Method: "PUT", Path: one, Summary: "Create or change a pipeline (a new revision); the webhook secret is answered once, on creation or with rotateSecret=true",
		Query: []string{"rotateSecret"}, Request: "PipelineSpec", Response: "PipelineApplied"}, a.applyPipeline)
	a.route(Route{Method: "GET", Path: one, Summary: "Get a pipeline (never its webhook secret)", Response: "PipelineView"}, a.getPipeline)
	a.route(Route{Method: "DELETE", Path: one, Summary: "Delete a pipeline and its runs (not while a run has not ended)", Response: "none"}, a.deletePipeline)
	a.route(Route{Method: "POST", Path: one + "/runs", Summary: "Run a pipeline: queue a run of a branch (and commit), triggered by the caller",
		Request: "RunRequest", Response: "PipelineRun", OptionalBody: true}, a.triggerRun)
	a.route(Route{Method: "GET", Path: one + "/runs", Summary: "List a pipeline's runs, newest first (before: numbered below it)",
		Query: []string{"before", "limit"}, Response: "List[PipelineRun]"}, a.listRuns)
	a.route(Route{Method: "GET", Path: run, Summary: "Get a run: its steps, decisions, image, digest and version", Response: "PipelineRun"}, a.getRun)
	a.route(Route{Method: "POST", Path: run + "/stages/{stage}/approve", Summary: "Approve a waiting stage: by its owner, never the run's trigger nor the pipeline's last author",
		Request: "DecisionRequest", Response: "PipelineRun", Status: http.StatusOK, OptionalBody: true}, a.decideStage(true))
	a.route(Route{Method: "POST", Path: run + "/stages/{stage}/reject", Summary: "Reject a waiting stage, with a reason; the run fails",
		Request: "DecisionRequest", Response: "PipelineRun", Status: http.StatusOK}, a.decideStage(false))
	a.route(Route{Method: "POST", Path: run + "/cancel", Summary: "Cancel a run: at once when queued or waiting, its running step stopped otherwise",
		Request: "DecisionRequest", Response: "PipelineRun", Status: http.StatusOK, OptionalBody: true}, a.cancelRun)
	a.route(Route{Method: "POST", Path: run + "/retry", Summary: "Retry a failed run from its failed step (step: an earlier one); the one who retries may not approve its stages",
		Query: []string{"step"}, Request: "DecisionRequest", Response: "PipelineRun", Status: http.StatusOK, OptionalBody: true}, a.retryRun)
	a.route(Route{Method: "GET", Path: run + "/log", Summary: "A run's step logs (step: one step; offset: from there); follow=true streams them as " +
		"server-sent events (event: log with {step, offset, text}, event: step with the step's state, event: end with the run) until the run ends",
		Query: []string{"step", "offset", "follow"}, Response: "RunLog", Events: true}, a.runLog)
	a.route(Route{Method: "POST", Path: "/webhooks/{tenant}/{project}/{pipeline}", Summary: "A Git push webhook (GitHub X-Hub-Signature-256, Gitea X-Gitea-Signature, " +
		"GitLab X-Gitlab-Token with the pipeline's secret); a matching branch queues a run triggered by the pusher; a delivery ID seen before is refused",
		Public: true, Request: "GitPush", Response: "WebhookResult", Status: http.StatusAccepted}, a.webhook)
}

// applyPipelineKind applies a Pipeline document of a manifest: "created"
// with the new webhook secret (shown once), "updated", or "unchanged"
// when the spec is the pipeline's already (no new revision).
func (a *API) applyPipelineKind(ctx context.Context, tx platform.Tx, c platform.Caller, md manifest.Metadata, s *manifest.PipelineSpec) (action, secret string, err error) {
	k := pipeline.Key{Tenant: md.Tenant, Project: md.Project, Name: md.Name}
	want := s.Pipeline(k)
	if cur, err := tx.GetPipeline(ctx, k); err == nil && reflect.DeepEqual(apitypes.PipelineOf(cur).Spec, apitypes.PipelineOf(want).Spec) {
		return "unchanged", "", nil
	}
	res, err := a.p.ApplyPipeline(ctx, tx, c, want, false)
	if err != nil {
		return "", "", err
	}
	if res.Created {
		return "created", res.Secret, nil
	}
	return "updated", "", nil
}

func pipelineKey(r *http.Request) pipeline.Key {
	return pipeline.Key{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"), Name: r.PathValue("pipeline")}
}

func runKey(r *http.Request) (pipeline.RunKey, error) {
	n, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || n < 1 {
		var errs resource.Errors
		errs.Add("run", "must be a run number, got %q", r.PathValue("run"))
		return pipeline.RunKey{}, errs.Err()
	}
	return pipeline.RunKey{Key: pipelineKey(r), Number: n}, nil
}

func (a *API) listPipelines(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.PipelineRead, s); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[pipeline.Pipeline]
	if err := a.view(r, func(tx platform.Tx) (err error) {
		page, err = a.p.ListPipelines(r.Context(), tx, a.caller(r), s.Tenant, s.Project, o)
		return err
	}); err != nil {
		return err
	}
	views := make([]apitypes.PipelineView, len(page.Items))
	for i, p := range page.Items {
		views[i] = apitypes.PipelineOf(p)
	}
	return writePage(w, resource.Page[apitypes.PipelineView]{Items: views, Continue: page.Continue})
}

func (a *API) applyPipeline(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.PipelineWrite, scopeOf(r)); err != nil {
		return err
	}
	var spec apitypes.PipelineSpec
	if err := decode(r, &spec); err != nil {
		return err
	}
	k := pipelineKey(r)
	rotate := r.URL.Query().Get("rotateSecret") == "true"
	var out pipeline.Applied
	if err := a.do(r, "pipeline.apply", k.Path(), scopeOf(r), func(tx platform.Tx) (err error) {
		out, err = a.p.ApplyPipeline(r.Context(), tx, a.caller(r), spec.Pipeline(k), rotate)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.PipelineApplied{Pipeline: apitypes.PipelineOf(out.Pipeline), Created: out.Created, WebhookSecret: out.Secret})
}

func (a *API) getPipeline(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.PipelineRead, scopeOf(r)); err != nil {
		return err
	}
	var p pipeline.Pipeline
	if err := a.view(r, func(tx platform.Tx) (err error) {
		p, err = a.p.GetPipeline(r.Context(), tx, a.caller(r), pipelineKey(r))
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.PipelineOf(p))
}

func (a *API) deletePipeline(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.PipelineWrite, scopeOf(r)); err != nil {
		return err
	}
	k := pipelineKey(r)
	if err := a.do(r, "pipeline.delete", k.Path(), scopeOf(r), func(tx platform.Tx) error {
		return a.p.DeletePipeline(r.Context(), tx, a.caller(r), k)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) triggerRun(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.PipelineRun, scopeOf(r)); err != nil {
		return err
	}
	var req apitypes.RunRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	if req.Ref == "" {
		req.Ref = "refs/heads/main"
	}
	k := pipelineKey(r)
	var run pipeline.Run
	if err := a.do(r, "pipeline.trigger", k.Path(), scopeOf(r), func(tx platform.Tx) (err error) {
		run, err = a.p.TriggerPipeline(r.Context(), tx, a.caller(r), k, req.Ref, req.Commit)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, run)
}

func (a *API) listRuns(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.PipelineRead, scopeOf(r)); err != nil {
		return err
	}
	var errs resource.Errors
	before, limit := int64(0), 20
	if s := r.URL.Query().Get("before"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			before = n
		} else {
			errs.Add("before", "must be a run number, got %q", s)
		}
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 200 {
			limit = n
		} else {
			errs.Add("limit", "must be 1 to 200, got %q", s)
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	var runs []pipeline.Run
	if err := a.view(r, func(tx platform.Tx) (err error) {
		runs, err = a.p.ListRuns(r.Context(), tx, a.caller(r), pipelineKey(r), before, limit)
		return err
	}); err != nil {
		return err
	}
	if runs == nil {
		runs = []pipeline.Run{}
	}
	return writePage(w, resource.Page[pipeline.Run]{Items: runs})
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.PipelineRead, scopeOf(r)); err != nil {
		return err
	}
	k, err := runKey(r)
	if err != nil {
		return err
	}
	var run pipeline.Run
	if err := a.view(r, func(tx platform.Tx) (err error) {
		run, err = a.p.GetRun(r.Context(), tx, a.caller(r), k)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

// runChange runs fn on the run in the path as action and answers the run.
func (a *API) runChange(w http.ResponseWriter, r *http.Request, perm authz.Permission, action string, optional bool,
	fn func(tx platform.Tx, c platform.Caller, k pipeline.RunKey, reason string) (pipeline.Run, error)) error {
	if err := a.authorize(r, perm, scopeOf(r)); err != nil {
		return err
	}
	k, err := runKey(r)
	if err != nil {
		return err
	}
	var req apitypes.DecisionRequest
	if optional {
		err = decodeOptional(r, &req)
	} else {
		err = decode(r, &req)
	}
	if err != nil {
		return err
	}
	var run pipeline.Run
	if err := a.do(r, action, k.Path(), scopeOf(r), func(tx platform.Tx) (err error) {
		run, err = fn(tx, a.caller(r), k, req.Reason)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

func (a *API) decideStage(approve bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		stage := r.PathValue("stage")
		if approve {
			return a.runChange(w, r, authz.PipelineApprove, "pipeline.approve", true, func(tx platform.Tx, c platform.Caller, k pipeline.RunKey, reason string) (pipeline.Run, error) {
				return a.p.ApproveStage(r.Context(), tx, c, k, stage, reason)
			})
		}
		return a.runChange(w, r, authz.PipelineApprove, "pipeline.reject", false, func(tx platform.Tx, c platform.Caller, k pipeline.RunKey, reason string) (pipeline.Run, error) {
			return a.p.RejectStage(r.Context(), tx, c, k, stage, reason)
		})
	}
}

func (a *API) cancelRun(w http.ResponseWriter, r *http.Request) error {
	return a.runChange(w, r, authz.PipelineRun, "pipeline.cancel", true, func(tx platform.Tx, c platform.Caller, k pipeline.RunKey, reason string) (pipeline.Run, error) {
		return a.p.CancelRun(r.Context(), tx, c, k, reason)
	})
}

func (a *API) retryRun(w http.ResponseWriter, r *http.Request) error {
	step := r.URL.Query().Get("step")
	return a.runChange(w, r, authz.PipelineRun, "pipeline.retry", true, func(tx platform.Tx, c platform.Caller, k pipeline.RunKey, reason string) (pipeline.Run, error) {
		return a.p.RetryRun(r.Context(), tx, c, k, step, reason)
	})
}

func (a *API) runLog(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.PipelineRead, scopeOf(r)); err != nil {
		return err
	}
	k, err := runKey(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var offset int64
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.ParseInt(s, 10, 64); err != nil || offset < 0 {
			var errs resource.Errors
			errs.Add("offset", "must be a byte offset, got %q", s)
			return errs.Err()
		}
	}
	c := a.caller(r)
	var run pipeline.Run
	if err := a.view(r, func(tx platform.Tx) (err error) {
		run, err = a.p.GetRun(r.Context(), tx, c, k)
		return err
	}); err != nil {
		return err
	}
	steps := []string{}
	for _, s := range run.Steps {
		if q.Get("step") == "" || q.Get("step") == s.Name {
			steps = append(steps, s.Name)
		}
	}
	if len(steps) == 0 {
		var errs resource.Errors
		errs.Add("step", "run %d has no step %q", k.Number, q.Get("step"))
		return errs.Err()
	}
	if q.Get("follow") == "true" && a.p.PipelineLogs != nil {
		return a.followRunLog(w, r, c, k, steps, offset)
	}
	out := apitypes.RunLog{Steps: []apitypes.StepLog{}}
	for _, step := range steps {
		b, now, err := a.p.RunLog(r.Context(), c, k, step, offset)
		if err != nil {
			return err
		}
		st, _ := now.Step(step)
		out.Steps = append(out.Steps, apitypes.StepLog{Step: step, State: st.State, Offset: offset, Next: offset + int64(len(b)), Text: string(b)})
	}
	return writeJSON(w, http.StatusOK, out)
}

// followLogPoll is how often a followed log looks at its run when no log
// grows (an approval, a cancellation).
const followLogPoll = time.Second

// followRunLog streams steps' logs in order, each from offset (the first)
// or 0, until the run ends and every log is sent.
func (a *API) followRunLog(w http.ResponseWriter, r *http.Request, c platform.Caller, k pipeline.RunKey, steps []string, offset int64) error {
	ctx := r.Context()
	rc := startEventStream(w)
	for _, step := range steps {
		for {
			changed := a.p.PipelineLogs.Changed()
			b, run, err := a.p.RunLog(ctx, c, k, step, offset)
			if err != nil {
				return nil //nolint:nilerr // the stream has begun: it ends
			}
			if len(b) > 0 {
				if err := sendEvent(w, rc, "log", apitypes.StepLog{Step: step, Offset: offset, Next: offset + int64(len(b)), Text: string(b)}); err != nil {
					return nil //nolint:nilerr // the client left
				}
				offset += int64(len(b))
				continue
			}
			st, _ := run.Step(step)
			if st.State.Ended() || (run.State.Ended() && st.State != pipeline.Running) {
				if err := sendEvent(w, rc, "step", apitypes.StepLog{Step: step, State: st.State, Offset: offset, Next: offset}); err != nil {
					return nil //nolint:nilerr // the client left
				}
				break
			}
			wait, cancel := context.WithTimeout(ctx, followLogPoll)
			a.p.PipelineLogs.Wait(wait, changed)
			cancel()
			if ctx.Err() != nil {
				return nil
			}
		}
		offset = 0
	}
	// The last step ends a transaction before the run does: the end event
	// waits for the run's own end, so it says how the run ended.
	var run pipeline.Run
	for {
		err := a.view(r, func(tx platform.Tx) (err error) {
			run, err = a.p.GetRun(ctx, tx, c, k)
			return err
		})
		if err != nil {
			return nil //nolint:nilerr // the stream has begun: it ends
		}
		if run.State.Ended() {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followLogPoll / 5):
		}
	}
	_ = sendEvent(w, rc, "end", run)
	return nil
}

// webhook receives a push. The body is bounded before anything is read;
// the platform verifies the signature against the pipeline's secret; a
// refusal (bad signature, replay) is audited by Do.
func (a *API) webhook(w http.ResponseWriter, r *http.Request) error {
	k := pipelineKey(r)
	body, err := io.ReadAll(r.Body) // bounded by the route's MaxBytesReader (MaxBody = pipeline.MaxWebhookBody)
	if err != nil {
		return badJSON(err)
	}
	act := a.actor(r)
	act.User = "webhook"
	var run pipeline.Run
	err = a.p.Do(r.Context(), act, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "pipeline.webhook", Target: k.Path()}, func(tx platform.Tx) (err error) {
		run, err = a.p.ReceiveWebhook(r.Context(), tx, act, k, r.Header, body)
		return err
	})
	switch {
	case errors.Is(err, pipeline.ErrNotAPush):
		return writeJSON(w, http.StatusAccepted, apitypes.WebhookResult{Message: "not a push of a branch: nothing runs"})
	case errors.Is(err, resource.ErrNotFound):
		return pipeline.ErrBadSignature // no pipeline there: say no more than to a wrong signature
	case err != nil:
		return err
	case run.Number == 0:
		return writeJSON(w, http.StatusAccepted, apitypes.WebhookResult{Message: "no branch rule matches: nothing runs"})
	}
	return writeJSON(w, http.StatusAccepted, apitypes.WebhookResult{Run: run.Number, Message: "run " + strconv.FormatInt(run.Number, 10) + " queued"})
}
