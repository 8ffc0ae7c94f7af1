package kube

// Labels and annotations Berth puts on what it manages.
const (
	LabelManagedBy   = "app.kubernetes.io/managed-by"
	LabelName        = "app.kubernetes.io/name"
	LabelVersion     = "app.kubernetes.io/version"
	LabelTenant      = "berth.dev/tenant"
	LabelProject     = "berth.dev/project"
	LabelEnvironment = "berth.dev/environment"
	LabelApp         = "berth.dev/app"

	// AnnotationConfigHash changes the pod template when the rendered
	// configuration changes, so pods roll to pick it up.
	AnnotationConfigHash = "berth.dev/config-hash"
	// AnnotationStoppedReplicas remembers the replica count of a stopped
	// application so start can restore it.
	AnnotationStoppedReplicas = "berth.dev/stopped-replicas"
	// AnnotationRestartedAt, set on the pod template, rolls every pod.
	AnnotationRestartedAt = "berth.dev/restarted-at"

	// AnnotationOwner marks a namespace with the environment using it,
	// "tenant/project/environment": no other environment may use it.
	AnnotationOwner = "berth.dev/owner"
	// AnnotationCreated marks a namespace Berth created for its owner:
	// only in those does Berth take back fields other managers changed.
	AnnotationCreated = "berth.dev/created"

	// ManagedBy is the value of LabelManagedBy and the field manager.
	ManagedBy = "berth"
)
