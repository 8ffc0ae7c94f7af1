package tenancy

import (
	"errors"
	"testing"

	"berth.dev/berth/internal/resource"
)

// TestAClusterRequestRateIsValidated: a cluster's own request rate is
// optional (0 takes the server's), bounded, and its burst is at least its
// rate; a bad one is refused naming its field.
func TestAClusterRequestRateIsValidated(t *testing.T) {
	kc := []byte("apiVersion: v1\nkind: Config\n")
	for _, tc := range []struct {
		qps, burst int
		field      string // "" when valid
	}{
		{0, 0, ""}, {400, 0, ""}, {400, 400, ""}, {400, 1000, ""}, {0, 50, ""}, {10000, 20000, ""},
		{-1, 0, "qps"}, {10001, 0, "qps"},
		{0, -1, "burst"}, {0, 20001, "burst"}, {400, 399, "burst"},
	} {
		err := validateCluster(Cluster{Name: "bj-1", QPS: tc.qps, Burst: tc.burst}, kc, true)
		var ve *resource.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("qps %d, burst %d: %v, want it accepted", tc.qps, tc.burst, err)
		case tc.field == "":
		case !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Path != tc.field:
			t.Errorf("qps %d, burst %d: %v, want a validation error of field %s alone", tc.qps, tc.burst, err, tc.field)
		}
	}
}
