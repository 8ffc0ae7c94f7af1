package store

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"berth.dev/berth/internal/resource"
)

// TestAServerGoingAwayIsUnavailable: PostgreSQL's own errors for a server
// shutting down, crashing, starting up or a broken connection mean the
// database is unavailable (503), other errors of it do not.
func TestAServerGoingAwayIsUnavailable(t *testing.T) {
	for code, want := range map[string]bool{
		"57P01": true,  // admin_shutdown: pg_ctl stop -m fast or immediate
		"57P02": true,  // crash_shutdown
		"57P03": true,  // cannot_connect_now: recovering after a crash
		"08006": true,  // connection_failure
		"08003": true,  // connection_does_not_exist
		"23505": false, // unique_violation
		"40001": false, // serialization_failure
		"57014": false, // query_canceled
	} {
		err := postgresDialect.translate(&pgconn.PgError{Code: code})
		if got := errors.Is(err, resource.ErrUnavailable); got != want {
			t.Errorf("PostgreSQL error %s unavailable = %v, want %v", code, got, want)
		}
	}
}
