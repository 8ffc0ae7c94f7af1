package store_test

import (
	"slices"
	"testing"
	"time"

	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
)

// TestGatewayAcks records gateways' acknowledgements as two replicas do
// and reads them as the leader does, on both databases: another replica's
// gateway counts until it has the configuration in force, a disconnected
// one and one whose replica stopped refreshing it stop counting, and the
// stale rows are deleted.
func TestGatewayAcks(t *testing.T) {
	for name, open := range map[string]func(testing.TB) storetest.NewStore{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			st := open(t)(t)
			ctx := t.Context()
			behind := func(except, id string) int {
				t.Helper()
				n, err := st.GatewayAcksBehind(ctx, except, id, time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(st.PutGatewayAck(ctx, "follower", "gw-1", ""))
			must(st.PutGatewayAck(ctx, "follower", "gw-2", "old"))
			must(st.PutGatewayAck(ctx, "leader", "gw-3", "old"))
			if n := behind("leader", "new"); n != 2 {
				t.Fatalf("the leader counts %d of the follower's gateways behind; want 2 (its own are not read)", n)
			}
			must(st.PutGatewayAck(ctx, "follower", "gw-1", "new"))
			if n := behind("leader", "new"); n != 1 {
				t.Fatalf("after gw-1 applied: %d behind, want 1", n)
			}
			must(st.DeleteGatewayAck(ctx, "follower", "gw-2"))
			if n := behind("leader", "new"); n != 0 {
				t.Fatalf("after gw-2 disconnected: %d behind, want 0", n)
			}
			// A replica that stopped an hour ago: its gateway no longer counts.
			must(st.PutGatewayAck(ctx, "stopped", "gw-4", "old"))
			age(t, st, "stopped", 2*time.Hour)
			if n := behind("leader", "new"); n != 0 {
				t.Fatalf("a stopped replica's gateway counts (%d behind)", n)
			}
			// Refreshing revives a live replica's rows and deletes the stale ones.
			age(t, st, "follower", 2*time.Hour)
			must(st.PutGatewayAck(ctx, "follower", "gw-1", "old"))
			age(t, st, "follower", 2*time.Hour)
			must(st.TouchGatewayAcks(ctx, "follower", time.Hour))
			if n := behind("leader", "new"); n != 1 {
				t.Fatalf("after the follower refreshed its rows: %d behind, want 1", n)
			}
			var rows int
			must(st.DB().QueryRowContext(ctx, "SELECT count(*) FROM gateway_acks").Scan(&rows))
			if rows != 2 { // follower/gw-1 and leader/gw-3; stopped/gw-4 deleted
				t.Fatalf("%d rows after expiry, want 2", rows)
			}
			list := func(except string, limit int) []string {
				t.Helper()
				var got []string
				must(st.EachGatewayAck(ctx, except, time.Hour, limit, func(replica, sub, applied string) {
					got = append(got, replica+"/"+sub+"="+applied)
				}))
				return got
			}
			if got := list("leader", 10); !slices.Equal(got, []string{"follower/gw-1=old"}) {
				t.Fatalf("the leader lists %v of the other replicas' gateways; want follower/gw-1=old", got)
			}
			if got := list("", 10); !slices.Equal(got, []string{"follower/gw-1=old", "leader/gw-3=old"}) {
				t.Fatalf("every replica's gateways: %v", got)
			}
			if got := list("", 1); !slices.Equal(got, []string{"follower/gw-1=old"}) {
				t.Fatalf("at most one: %v", got)
			}
			age(t, st, "follower", 2*time.Hour)
			if got := list("leader", 10); len(got) != 0 {
				t.Fatalf("a gateway not seen within the hour is listed: %v", got)
			}
		})
	}
}

// age moves every row of replica back by d, as if it was last refreshed d
// ago.
func age(t *testing.T, st *store.Store, replica string, d time.Duration) {
	t.Helper()
	if _, err := st.DB().ExecContext(t.Context(), st.Rebind("UPDATE gateway_acks SET seen_ms = seen_ms - ? WHERE replica = ?"), d.Milliseconds(), replica); err != nil {
		t.Fatal(err)
	}
}
