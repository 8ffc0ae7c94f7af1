package controller

import "berth.dev/berth/internal/deploy"

// The reasons of the Ready condition the deployment and gray plan
// controllers record (resource.ConditionReady). Ready is True with
// reasonApplied once a reconcile of the generation it observed applied
// everything; False with the reason of the step that failed, declared
// beside the step in Reconcile. docs/api.md lists them for users.
const (
	// reasonApplied: every object of the generation is applied.
	reasonApplied = "Applied"
	// reasonClusterUnreachable: the environment's cluster is not connected
	// or not ready (connect); the controller looks again every few seconds.
	reasonClusterUnreachable = "ClusterUnreachable"
	// reasonNamespaceFailed: the environment's namespace, quota or limits
	// could not be applied (namespace).
	reasonNamespaceFailed = "NamespaceFailed"
	// reasonRenderFailed: the version's objects (or a gray plan's mesh
	// route) could not be rendered (render).
	reasonRenderFailed = "RenderFailed"
	// reasonCRDsFailed: a chart's CustomResourceDefinitions could not be
	// applied or were not established (crds).
	reasonCRDsFailed = "CRDsFailed"
	// reasonHookFailed: a chart's hook failed or did not end in time
	// (pre-hooks, post-hooks); the message names the hook and why. The
	// deployment stays at that generation until a new one.
	reasonHookFailed = deploy.ReasonHookFailed
	// reasonApplyFailed: the cluster refused the apply or the prune
	// (apply).
	reasonApplyFailed = "ApplyFailed"
	// reasonGatewayRejected: the gateway configuration of a gray plan's
	// environment is rejected, so the plan waits (route).
	reasonGatewayRejected = "GatewayRejected"
	// reasonNotOwned: an object a gray plan would apply exists and is not
	// Berth's; Berth does not take it over (claim).
	reasonNotOwned = "NotOwned"
)
