// Package storetest is the one conformance suite every store dialect must
// pass: Run it with a constructor of empty stores. It drives the store
// through the domain services, as the API does, and reaches into the
// database directly only to tamper with the audit trail.
package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
)

// NewStore returns an empty, migrated store that the test's cleanup closes.
type NewStore func(tb testing.TB) *store.Store

// Run runs the suite; each subtest gets a store of its own.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"tenants are created, read, updated, listed and deleted", testTenantLifecycle},
		{"a duplicate name is ErrAlreadyExists and a missing one ErrNotFound", testSentinels},
		{"a project needs its tenant and a tenant with projects cannot be deleted", testProjectParents},
		{"lists page through every item exactly once", testPagination},
		{"an environment binds a namespace of a registered cluster at most once", testEnvironmentBinding},
		{"a cluster's kubeconfig is stored sealed and opens again", testClusterSealed},
		{"re-sealing moves every kubeconfig to a new key in one audited transaction", testSealRotation},
		{"role bindings are listed by scope and by user", testMembers},
		{"a stale resourceVersion is ErrConflict, never a lost update", testStaleWrite},
		{"of two concurrent writers with the same resourceVersion exactly one wins", testConcurrentWriters},
		{"a write inside a read-only transaction fails", testViewIsReadOnly},
		{"project quotas may not sum above the tenant's", testQuotaSums},
		{"an activation over quota is refused with the numbers and changes nothing", testQuotaActivation},
		{"usage is the sum of what current versions reserve", testUsage},
		{"concurrent activations cannot together exceed a quota", testConcurrentActivations},
		{"a reservation too large to add up is refused even without a quota", testHugeReservation},
		{"versions copy their tier and raw resources need the platform-admin flag", testVersions},
		{"a tier in use cannot be deleted", testTierInUse},
		{"a failing batch changes nothing and leaves one failure record", testBatchAllOrNothing},
		{"every change appends a chained audit record in its transaction", testAuditPerChange},
		{"every mutating service method writes exactly one audit record", testEveryChangeAudited},
		{"concurrent writers share commits: every acknowledged change has its record, in commit order", testGroupCommitConcurrentWriters},
		{"a member of a commit group that fails, panics or is cancelled leaves nothing, the others commit", testGroupCommitFailingMember},
		{"a member's savepoint goes with its first statement: one failing there, before or ignoring one leaves nothing of its own, the others commit", testGroupCommitSavepointWithFirstStatement},
		{"a function that ends its goroutine abandons its commit group, and the next write is served", testGroupCommitGoexit},
		{"audit records are listed newest first with filters and exported", testAuditListExport},
		{"records holding the separator of a packed read are read back intact", testAuditSeparatorInText},
		{"verify names the first record altered, deleted or reordered in the database", testAuditTamper},
		{"pruning old records keeps the chain verifiable", testAuditPrune},
		{"the chain's base moves only through an audit.prune record in the chain", testAuditPruneMovesTheBaseOnlyThroughItsRecord},
		{"verify with anchors finds a trail rewritten since, even recomputed from the start", testAuditAnchors},
		{"users log in, hold sessions and tokens that expire and are revoked", testIdentity},
		{"bootstrap creates admin once with a generated password", testBootstrap},
		{"a deployment is deployed, scaled, stopped, started, restarted and deleted, each audited", testDeploymentLifecycle},
		{"a deploy of an unknown version, environment or application changes nothing", testDeploymentBadInput},
		{"deployments in every environment count against the quota and stopping frees it", testDeploymentQuota},
		{"deployments list in pages and by environment, and pending ones are found", testDeploymentListsAndPending},
		{"a stale deployment write is ErrConflict", testDeploymentStaleWrite},
		{"a deployment's Ready condition follows each recorded apply, its time only changes of status", testDeploymentConditions},
		{"the controller hears of a deployment change only once it commits", testDeploymentNotifiesAfterCommit},
		{"every audit record is announced once its transaction commits", testAuditAnnouncedAfterCommit},
		{"a gray plan starts, widens, promotes, switches back, ends and expires, each audited", testGrayPlanLifecycle},
		{"a bad gray plan is refused naming the field and changes nothing", testGrayPlanBadInput},
		{"a gray plan's Ready condition follows each recorded apply", testGrayPlanConditions},
		{"an org directory is imported and plans pick units by name", testOrgDirectory},
		{"a gray plan's second version counts against the quota", testGrayPlanQuota},
		{"the controller hears of a gray plan change only once it commits", testGrayNotifiesAfterCommit},
		{"operations on what runs ask the caller's roles themselves", testOperationsAskTheCallersRoles},
		{"a release order is released by a gray group that starts, widens, promotes and aborts as one", testGrayGroup},
		{"of several orders started at once only one holds an application", testConcurrentStartsHoldAnApplicationOnce},
		{"release orders list newest first in pages and keep their locks until they end", testOrdersListNewestFirst},
		{"notifications are kept only when their transaction commits", testOutboxFollowsTheTransaction},
		{"port grants nest, refuse overlaps and shrinking below use, and show compact ranges", testPortGrants},
		{"an exposed port takes the next free or a requested port of its project and returns when released", testPortExpose},
		{"parallel exposures never share a port and stop exactly when the pool is empty", testConcurrentExposes},
		{"isolation records validate, audit and go with their tenant", testIsolationRecords},
		{"bandwidth per instance counts against quota with autoscaling maximums", testBandwidthQuota},
		{"group bindings and sso links are kept at their versions and links go with their users", testSSORecords},
		{"sign-ins in progress are taken once, by their own browser or CLI, within their time", testSSOFlows},
		{"terminal policies, sessions and commands are kept at their versions, sessions newest first", testTerminalRecords},
		{"a config item is published, diffed, rolled back and deleted, each revision kept and audited", testConfigLifecycle},
		{"a secret config item is sealed at rest, never listed or audited, read only with config:read-secret", testConfigSecretSealed},
		{"a config change where approvals are required is proposed and made current by another person", testConfigFourEyes},
		{"a gray config revision reaches its cohort only until it is promoted or aborted", testConfigGray},
		{"a client is never served content older than the last committed change", testConfigServedFresh},
		{"bad config input is refused naming the field and line, a writer without permission is audited", testConfigBadInput},
		{"a signed push queues a run that waits for its owner's approval, four eyes, each decision audited", testPipelineRuns},
		{"a bad pipeline is refused naming each field and nothing is written", testPipelineBadInput},
		{"alert rules and receivers are kept at their versions, audited, and read without their secrets", testAlertRecords},
		{"SLOs are kept at their versions and audited, an unknown application named", testSLORecords},
		{"alerts received are kept as history, acknowledged once with a reason and audited", testAlertHistory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, newStore(t))
			h.newStore = newStore
			tc.fn(t, h)
		})
	}
}

// harness is a platform over a fresh store with a fake clock.
type harness struct {
	st    *store.Store
	p     *platform.Platform
	clock *clock.Fake
	admin audit.Actor

	newStore NewStore
}

// freshStore returns another empty store, for subtests that need one each.
func (h *harness) freshStore(t *testing.T) *store.Store { return h.newStore(t) }

// T0 is when every test's clock starts.
var T0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// cheapArgon2 keeps password hashing fast in tests.
var cheapArgon2 = identity.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func newHarness(t *testing.T, st *store.Store) *harness {
	t.Helper()
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := clock.NewFake(T0)
	p, err := platform.New(st, platform.Options{Clock: c, Sealer: sealer, Identity: identity.Options{Argon2: cheapArgon2}})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{st: st, p: p, clock: c,
		admin: audit.Actor{User: "alice", Roles: []string{"platform-admin"}, SourceIP: "10.0.0.1", RequestID: "req-1"}}
}

// tx runs fn in a write transaction and fails the test on error.
func (h *harness) tx(t *testing.T, fn func(tx platform.Tx) error) {
	t.Helper()
	if err := h.st.InTx(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// view runs fn in a read-only transaction and fails the test on error.
func (h *harness) view(t *testing.T, fn func(tx platform.Tx) error) {
	t.Helper()
	if err := h.st.View(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// exec runs raw SQL written with '?' placeholders.
func (h *harness) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := h.st.DB().ExecContext(context.WithoutCancel(t.Context()), h.st.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func diff(t *testing.T, what string, got, want any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func must2[A, B any](t *testing.T) func(A, B, error) (A, B) {
	return func(a A, b B, err error) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func auditEventLogin(user string) audit.Event {
	return audit.Event{Action: "user.login", Target: "users/" + user, Summary: "login as " + user}
}
