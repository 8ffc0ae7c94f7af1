package api

import (
	"context"
	"errors"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// netPermissionsOf is what applying a network-asset document requires;
// ok is false for other kinds.
func netPermissionsOf(o manifest.Object) (perm authz.Permission, scope authz.Scope, ok bool) {
	md := o.Metadata
	switch o.Kind {
	case manifest.KindPortPool:
		return authz.PortPoolSet, authz.Platform, true
	case manifest.KindPortGrant:
		if md.Project == "" {
			return authz.PortPoolSet, authz.TenantScope(md.Tenant), true
		}
		return authz.ProjectPortsSet, authz.ProjectScope(md.Tenant, md.Project), true
	case manifest.KindNetworkIsolation:
		return authz.IsolationSet, authz.Scope{Tenant: md.Tenant, Project: md.Project}, true
	}
	return "", authz.Scope{}, false
}

// applyNet applies a network-asset document; ok is false for other kinds.
func (a *API) applyNet(ctx context.Context, tx platform.Tx, act audit.Actor, o manifest.Object) (action string, ok bool, err error) {
	md := o.Metadata
	switch s := o.Spec.(type) {
	case *manifest.PortPoolSpec:
		action, err = a.applyGrant(ctx, tx, act, netasset.Grant{Cluster: md.Name}, s.Ports)
	case *manifest.PortGrantSpec:
		action, err = a.applyGrant(ctx, tx, act, netasset.Grant{Cluster: s.Cluster, Tenant: md.Tenant, Project: md.Project}, s.Ports)
	case *manifest.NetworkIsolationSpec:
		action, err = a.applyIsolation(ctx, tx, act, netasset.Isolation{Tenant: md.Tenant, Project: md.Project, Level: s.Level, Allow: s.Allow})
	default:
		return "", false, nil
	}
	return action, true, err
}

func (a *API) applyGrant(ctx context.Context, tx platform.Tx, act audit.Actor, g netasset.Grant, ports string) (string, error) {
	set, err := netasset.ParsePorts(ports)
	if err != nil {
		return "", &resource.ValidationError{Fields: []resource.FieldError{{Path: "ports", Reason: err.Error()}}}
	}
	g.Ports = set
	old, err := tx.GetGrant(ctx, g.Cluster, g.Tenant, g.Project)
	action := "updated"
	switch {
	case errors.Is(err, resource.ErrNotFound):
		action = "created"
	case err != nil:
		return "", err
	case old.Ports.Equal(set):
		return "unchanged", nil
	}
	g.ResourceVersion = old.ResourceVersion
	_, err = a.p.Network.SetGrant(ctx, tx, act, g)
	return action, err
}

func (a *API) applyIsolation(ctx context.Context, tx platform.Tx, act audit.Actor, i netasset.Isolation) (string, error) {
	old, err := tx.GetIsolation(ctx, i.Tenant, i.Project)
	action := "updated"
	switch {
	case errors.Is(err, resource.ErrNotFound):
		action = "created"
	case err != nil:
		return "", err
	}
	i.ResourceVersion = old.ResourceVersion
	_, err = a.p.Network.SetIsolation(ctx, tx, act, i)
	return action, err
}
