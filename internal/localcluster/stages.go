package localcluster

import (
	"bytes"
	_ "embed"
	"fmt"
	"text/template"
)

// SimulateLabel, set on a pod template, makes its simulated pods misbehave
// the way real ones do. Its values are the Simulate* constants.
const SimulateLabel = "berth.dev/simulate"

// CrashAfterAnnotation sets, as a Go duration ("5s"), how long a
// crash-after-ready pod stays ready before its container exits.
const CrashAfterAnnotation = "berth.dev/simulate-crash-after"

// Misbehaviours a pod template can choose with SimulateLabel.
const (
	// SimulateCrashLoop: the container exits 1 about a second after each
	// start; the pod shows CrashLoopBackOff with a growing restartCount.
	SimulateCrashLoop = "crash-loop"
	// SimulateImagePullFailure: the pod stays Pending, its container waiting
	// with ErrImagePull, then ImagePullBackOff, alternating.
	SimulateImagePullFailure = "image-pull-failure"
	// SimulateNeverReady: the container runs but never passes readiness.
	SimulateNeverReady = "never-ready"
	// SimulateCrashAfterReady: the pod becomes Ready, then its container
	// exits after CrashAfterAnnotation (default 5s), restarts, and repeats.
	SimulateCrashAfterReady = "crash-after-ready"
)

// ExitCodeAnnotation, on a pod that runs to completion (restartPolicy
// Never or OnFailure: a Job's pod template, a chart hook), is the exit code
// its containers end with, about a second after they start (default 0).
const ExitCodeAnnotation = "berth.dev/simulate-exit-code"

//go:embed stages.yaml.tmpl
var stagesTemplate string

// kwokStages returns the kwok configuration (pod Stage documents) that
// drives simulated pods. Node stages are kwok's defaults. podIP, when not
// empty, is every pod's IP (Options.PodIP); else kwok allocates them.
func kwokStages(podIP string) ([]byte, error) {
	funcs := template.FuncMap{"fixedPodIP": func() string { return podIP }}
	t, err := template.New("stages").Delims("[%", "%]").Funcs(funcs).Parse(stagesTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse stages: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, nil); err != nil {
		return nil, fmt.Errorf("render stages: %w", err)
	}
	return buf.Bytes(), nil
}

// Annotations on a PipelineRun or TaskRun (Tekton copies them to the pod)
// that tell the berth-tekton-steps-end stage how the simulated steps end.
// Without them every step exits 0.
const (
	// StepFailAnnotation names the step (its Tekton name) that fails; the
	// steps after it end as Skipped, as Tekton's entrypoint ends them.
	StepFailAnnotation = "berth.dev/simulate-step-fail"
	// StepExitCodeAnnotation is the failing step's exit code (default 1).
	StepExitCodeAnnotation = "berth.dev/simulate-step-exit-code"
	// StepMessageAnnotation is the failing step's result "message".
	StepMessageAnnotation = "berth.dev/simulate-step-message"
	// StepResultsAnnotation is a JSON object of string task results the
	// last step writes when no step fails.
	StepResultsAnnotation = "berth.dev/simulate-results"
	// StepHoldAnnotation, with any value, keeps the steps running until
	// the pod is deleted.
	StepHoldAnnotation = "berth.dev/simulate-step-hold"
)
