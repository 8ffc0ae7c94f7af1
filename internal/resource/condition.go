package resource

import (
	"slices"
	"strconv"
	"time"
)

// A Condition is one aspect of what a controller last observed of a
// resource, as Kubernetes and Flux report status: Ready True or False, with
// a machine-readable Reason and a message for people.
type Condition struct {
	// Type names the aspect ("Ready").
	Type string `json:"type"`
	// Status is "True", "False" or "Unknown".
	Status ConditionStatus `json:"status"`
	// Reason is why, in CamelCase, for programs ("ClusterUnreachable").
	Reason string `json:"reason"`
	// Message is why, for people; the error text when Status is False.
	Message string `json:"message,omitempty"`
	// ObservedGeneration is the generation of the desired state the
	// condition speaks of.
	ObservedGeneration int64 `json:"observedGeneration"`
	// LastTransitionTime is when Status last changed.
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

// ConditionStatus is a Condition's status.
type ConditionStatus string

// The statuses of a condition.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// SetCondition returns conds with c in place of the condition of the same
// type, or added at the end when there is none, as apimachinery's
// meta.SetStatusCondition does: c.LastTransitionTime (the time of c) is
// kept only when the status changes or the condition is new; otherwise
// the old one stays, and only the reason, message and observed generation
// change. It never modifies conds: the result is a new slice.
func SetCondition(conds []Condition, c Condition) []Condition {
	out := slices.Clone(conds)
	i := slices.IndexFunc(out, func(o Condition) bool { return o.Type == c.Type })
	if i < 0 {
		return append(out, c)
	}
	if out[i].Status == c.Status {
		c.LastTransitionTime = out[i].LastTransitionTime
	}
	out[i] = c
	return out
}

// FindCondition returns the condition of type t in conds, and whether
// there is one.
func FindCondition(conds []Condition, t string) (Condition, bool) {
	i := slices.IndexFunc(conds, func(o Condition) bool { return o.Type == t })
	if i < 0 {
		return Condition{}, false
	}
	return conds[i], true
}

// ConditionReady is the type of the condition that says whether a
// resource's desired state is in force.
const ConditionReady = "Ready"

// Ready is the Ready condition of an attempt at generation made at time
// at: True when err is nil, False with err's text as its message
// otherwise. reason says why in both cases (the step that failed, or that
// everything applied).
func Ready(generation int64, reason string, err error, at time.Time) Condition {
	c := Condition{Type: ConditionReady, Status: ConditionTrue, Reason: reason, ObservedGeneration: generation, LastTransitionTime: at,
		Message: "generation " + strconv.FormatInt(generation, 10) + " is applied"}
	if err != nil {
		c.Status, c.Message = ConditionFalse, err.Error()
	}
	return c
}
