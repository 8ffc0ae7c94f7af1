// Package kube is Berth's cluster driver: it renders an application version
// into Kubernetes objects, applies them with server-side apply under one
// field manager, prunes what is no longer desired, and reads the live state
// back as an application status.
//
// It is the only package besides internal/controller and
// internal/localcluster that imports client-go. It knows nothing of HTTP or
// the database: callers pass in what to run and keep the inventory it
// returns.
package kube
