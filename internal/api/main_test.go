package api

import (
	"testing"

	"berth.dev/berth/internal/localcluster/clustertest"
)

// TestMain gives the package's tests one shared local cluster (tests that
// need one: events, namespaces).
func TestMain(m *testing.M) { clustertest.Main(m) }
