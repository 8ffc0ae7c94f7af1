// Package platform ties the domain services to one transaction runner and
// is the entry point the API calls.
//
// # Transactions and batches
//
// Every domain Service method takes the transaction-bound store as an
// argument ("tx"), so any number of calls, across packages, can share one
// transaction:
//
//	err := p.Do(ctx, actor, audit.Event{Action: "apply", Target: "manifest"}, func(tx platform.Tx) error {
//		if _, err := p.Tenancy.CreateTenant(ctx, tx, actor, t); err != nil {
//			return err
//		}
//		_, err := p.Apps.CreateApplication(ctx, tx, actor, app)
//		return err
//	})
//
// All of it commits, with one audit record per change, or none of it does.
// When fn fails, Do rolls back and then appends one failure record (the
// given event with Outcome failure and the error in the summary) in a
// transaction of its own, so refused changes and failed logins are audited
// too. Reads use p.DB.View.
package platform

import (
	"context"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/slo"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/terminal"
)

// Tx is the store bound to one transaction: every domain Store at once.
type Tx interface {
	tenancy.Store
	apps.Store
	identity.Store
	audit.Store
	deploy.Store
	gray.Store
	release.Store
	netasset.Store
	sso.Store
	terminal.Store
	configcenter.Store
	leader.Store
	pipeline.Store
	alert.Store
	slo.Store
}

// Transactor runs functions in transactions. internal/store implements it.
type Transactor interface {
	// InTx runs fn in a read-write transaction: commit when fn returns
	// nil, roll back otherwise (and on panic).
	InTx(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction (a consistent snapshot).
	View(ctx context.Context, fn func(Tx) error) error
}
