// Package health states an application's live state in one environment
// as Berth reads it from the cluster: its phase, replicas, pods and recent
// events. internal/kube fills these in; the API returns them and the CLI
// prints them, so they are plain values with no cluster types.
package health

import "time"

// Phase summarises an application's state in one word.
type Phase string

// Application phases.
const (
	// PhaseRunning: every desired replica of the current version is ready.
	PhaseRunning Phase = "Running"
	// PhaseProgressing: a rollout or scale is under way without fault.
	PhaseProgressing Phase = "Progressing"
	// PhaseDegraded: some replicas serve, others are faulty or unschedulable.
	PhaseDegraded Phase = "Degraded"
	// PhaseFailed: no replica of the current version serves because of a
	// fault, or the rollout passed its deadline.
	PhaseFailed Phase = "Failed"
	// PhaseStopped: scaled to zero on purpose.
	PhaseStopped Phase = "Stopped"
	// PhaseUnknown: the cluster cannot be reached, or nothing is deployed.
	PhaseUnknown Phase = "Unknown"
)

// Status is an application's live state in one environment.
type Status struct {
	Phase     Phase       `json:"phase"`
	Reason    string      `json:"reason,omitempty"`
	Message   string      `json:"message,omitempty"`
	Version   string      `json:"version,omitempty"`
	Desired   int32       `json:"desired"`
	Ready     int32       `json:"ready"`
	Updated   int32       `json:"updated"`
	Available int32       `json:"available"`
	Pods      []PodStatus `json:"pods"`
}

// PodStatus is one replica as users see it.
type PodStatus struct {
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Node     string `json:"node,omitempty"`
	Zone     string `json:"zone,omitempty"`
	IP       string `json:"ip,omitempty"`
	Phase    string `json:"phase"`
	Ready    bool   `json:"ready"`
	Restarts int32  `json:"restarts"`
	Reason   string `json:"reason,omitempty"`
	Message  string `json:"message,omitempty"`
}

// Event is a recent Kubernetes event about an application's objects.
type Event struct {
	Type    string    `json:"type"`
	Reason  string    `json:"reason"`
	Object  string    `json:"object"`
	Message string    `json:"message"`
	Count   int32     `json:"count"`
	Last    time.Time `json:"last"`
}
