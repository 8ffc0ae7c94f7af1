package kube

import (
	"fmt"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"berth.dev/berth/internal/health"
)

// Phase, Status and PodStatus are the application's live state as the
// health package states it; the driver reads them from the cluster.
type (
	Phase     = health.Phase
	Status    = health.Status
	PodStatus = health.PodStatus
)

// The application phases (see package health).
const (
	PhaseRunning     = health.PhaseRunning
	PhaseProgressing = health.PhaseProgressing
	PhaseDegraded    = health.PhaseDegraded
	PhaseFailed      = health.PhaseFailed
	PhaseStopped     = health.PhaseStopped
	PhaseUnknown     = health.PhaseUnknown
)

// Fault is a system fault read from a pod's status, with its evidence.
type Fault struct {
	Pod       string `json:"pod"`
	Container string `json:"container"`
	Reason    string `json:"reason"`
	Message   string `json:"message"`
}

func (f Fault) String() string {
	return fmt.Sprintf("pod %s container %s: %s: %s", f.Pod, f.Container, f.Reason, f.Message)
}

// faultReasons are the kubelet's waiting reasons that mean a container
// cannot run as built, as opposed to one that is merely starting.
var faultReasons = map[string]bool{
	"CrashLoopBackOff":           true,
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"ErrImageNeverPull":          true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// PodFault reports the first system fault of p's containers: a waiting
// reason from faultReasons, or a container that exited non-zero.
func PodFault(p *corev1.Pod) (Fault, bool) {
	for _, statuses := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range statuses {
			if w := cs.State.Waiting; w != nil && faultReasons[w.Reason] {
				return Fault{Pod: p.Name, Container: cs.Name, Reason: w.Reason, Message: w.Message}, true
			}
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				return Fault{Pod: p.Name, Container: cs.Name, Reason: "Terminated",
					Message: fmt.Sprintf("exit code %d (%s) %s", t.ExitCode, t.Reason, t.Message)}, true
			}
		}
	}
	return Fault{}, false
}

// Unschedulable reports why the scheduler cannot place p, if it cannot.
func Unschedulable(p *corev1.Pod) (string, bool) {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.Message, true
		}
	}
	return "", false
}

// PodReady reports whether p's Ready condition is true.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ProgressDeadlineExceeded reports whether d's rollout passed its deadline.
func ProgressDeadlineExceeded(d *appsv1.Deployment) (string, bool) {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return c.Message, true
		}
	}
	return "", false
}

// Assess computes the status of the application run by d from d and its
// pods; zoneOf maps a node name to its zone. It keeps none of its inputs.
func Assess(d *appsv1.Deployment, pods []*corev1.Pod, zoneOf func(node string) string) Status {
	s := Status{Phase: PhaseUnknown, Pods: []PodStatus{}}
	if d == nil {
		s.Reason, s.Message = "NotDeployed", "nothing is deployed"
		return s
	}
	s.Version = d.Spec.Template.Labels[LabelVersion]
	s.Desired = wantReplicas(d)
	s.Ready, s.Updated, s.Available = d.Status.ReadyReplicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas

	var faults []Fault
	var unschedulable []string
	currentReady, scheduledNotReady := int32(0), 0
	for _, p := range pods {
		ps := PodStatus{Name: p.Name, Version: p.Labels[LabelVersion], Node: p.Spec.NodeName, IP: p.Status.PodIP,
			Phase: string(p.Status.Phase), Ready: PodReady(p)}
		if p.Spec.NodeName != "" && zoneOf != nil {
			ps.Zone = zoneOf(p.Spec.NodeName)
		}
		for _, cs := range p.Status.ContainerStatuses {
			ps.Restarts += cs.RestartCount
		}
		current := ps.Version == s.Version && p.DeletionTimestamp == nil
		if f, ok := PodFault(p); ok {
			ps.Reason, ps.Message = f.Reason, f.Message
			if current {
				faults = append(faults, f)
			}
		} else if msg, ok := Unschedulable(p); ok {
			ps.Reason, ps.Message = corev1.PodReasonUnschedulable, msg
			if current {
				unschedulable = append(unschedulable, msg)
			}
		}
		if current && ps.Ready {
			currentReady++
		}
		if current && !ps.Ready && p.Spec.NodeName != "" {
			scheduledNotReady++
		}
		s.Pods = append(s.Pods, ps)
	}
	sort.Slice(s.Pods, func(i, j int) bool { return s.Pods[i].Name < s.Pods[j].Name })

	done := rolloutComplete(d)
	switch {
	case s.Desired == 0:
		s.Phase = PhaseStopped
	case len(faults) > 0 && currentReady == 0:
		s.Phase, s.Reason, s.Message = PhaseFailed, faults[0].Reason, faults[0].String()
	default:
		if msg, ok := ProgressDeadlineExceeded(d); ok {
			s.Phase, s.Reason, s.Message = PhaseFailed, "ProgressDeadlineExceeded", msg
			break
		}
		switch {
		case len(faults) > 0:
			s.Phase, s.Reason, s.Message = PhaseDegraded, faults[0].Reason, faults[0].String()
		case len(unschedulable) > 0 && scheduledNotReady == 0:
			// Everything that can run is ready; the rest never will.
			s.Phase, s.Reason = PhaseDegraded, corev1.PodReasonUnschedulable
			s.Message = fmt.Sprintf("%d of %d replicas cannot be scheduled: %s", len(unschedulable), s.Desired, unschedulable[0])
		case !done:
			s.Phase = PhaseProgressing
			if len(unschedulable) > 0 {
				s.Reason, s.Message = corev1.PodReasonUnschedulable, unschedulable[0]
			}
		case s.Ready < s.Desired:
			s.Phase, s.Reason = PhaseDegraded, "ReplicasNotReady"
			s.Message = fmt.Sprintf("%d of %d replicas ready", s.Ready, s.Desired)
		default:
			s.Phase = PhaseRunning
		}
	}
	return s
}

// rolloutComplete reports whether the Deployment controller has seen d's
// latest spec and made its newest ReplicaSet available.
func rolloutComplete(d *appsv1.Deployment) bool {
	if d.Generation > d.Status.ObservedGeneration {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			return c.Status == corev1.ConditionTrue && c.Reason == "NewReplicaSetAvailable" &&
				d.Status.UpdatedReplicas == d.Status.Replicas
		}
	}
	return false
}
