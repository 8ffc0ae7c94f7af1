package apitypes

import (
	"time"

	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/pipeline"
)

// PipelineSpec is a pipeline's spec: what PUT .../pipelines/{pipeline}
// takes and what the manifest kind Pipeline holds under spec.
type PipelineSpec = manifest.PipelineSpec

// PipelineView is a pipeline as the API shows it: never its secret.
type PipelineView struct {
	pipeline.Key
	Spec            PipelineSpec `json:"spec"`
	Revision        int64        `json:"revision"`
	ResourceVersion int64        `json:"resourceVersion"`
	CreatedAt       time.Time    `json:"createdAt"`
	UpdatedAt       time.Time    `json:"updatedAt"`
	UpdatedBy       string       `json:"updatedBy"`
	// WebhookPath is where the Git server posts pushes, under /api/v1.
	WebhookPath string `json:"webhookPath"`
}

// PipelineOf is p's view.
func PipelineOf(p pipeline.Pipeline) PipelineView {
	t := p.Timeout
	return PipelineView{Key: p.Key, Revision: p.Revision, ResourceVersion: p.ResourceVersion, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		UpdatedBy: p.UpdatedBy, WebhookPath: WebhookPath(p.Key),
		Spec: PipelineSpec{Application: p.Application, Source: p.Source, Build: p.Build, Delivery: p.Delivery, Stages: p.Stages, Timeout: &t, Webhook: p.Webhook}}
}

// WebhookPath is the API path, under /api/v1, of k's push webhook.
func WebhookPath(k pipeline.Key) string {
	return "/webhooks/" + k.Tenant + "/" + k.Project + "/" + k.Name
}

// PipelineApplied answers PUT .../pipelines/{pipeline}.
type PipelineApplied struct {
	Pipeline PipelineView `json:"pipeline"`
	Created  bool         `json:"created"`
	// WebhookSecret is the new webhook secret, shown this once: when the
	// pipeline was created or rotateSecret=true asked for a new one.
	WebhookSecret string `json:"webhookSecret,omitempty"`
}

// RunRequest triggers a run (POST .../pipelines/{pipeline}/runs).
type RunRequest struct {
	// Ref is the branch ref to build (default refs/heads/main); Commit the
	// full commit hash (default: the branch's head when the run clones).
	Ref    string `json:"ref,omitempty"`
	Commit string `json:"commit,omitempty"`
}

// DecisionRequest approves, rejects (reason required) or cancels.
type DecisionRequest struct {
	Reason string `json:"reason,omitempty"`
}

// RunLog is a run's step logs (GET .../runs/{run}/log).
type RunLog struct {
	Steps []StepLog `json:"steps"`
}

// StepLog is one step's log from Offset: Text, and Next the offset to read on from.
type StepLog struct {
	Step   string         `json:"step"`
	State  pipeline.State `json:"state"`
	Offset int64          `json:"offset"`
	Next   int64          `json:"next"`
	Text   string         `json:"text"`
}

// WebhookResult answers a push webhook.
type WebhookResult struct {
	// Run is the queued run's number, 0 when nothing runs (another event,
	// or a branch no rule matches).
	Run     int64  `json:"run"`
	Message string `json:"message"`
}

// PipelineRun is a run as the API answers it.
type PipelineRun = pipeline.Run

// The run states clients compare with.
const (
	RunSucceeded = pipeline.Succeeded
	RunWaiting   = pipeline.Waiting
	RunFailed    = pipeline.Failed
)
