package resource_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/resource"
)

// The wire form of a duration is a Go duration string, as the gateway's
// configuration and release orders have always written it.
func TestDurationIsAGoDurationStringOnTheWire(t *testing.T) {
	t.Parallel()
	type doc struct {
		Deadline resource.Duration  `json:"deadline,omitzero"`
		Timeout  *resource.Duration `json:"timeout,omitempty"`
	}
	tests := []struct {
		name string
		in   doc
		want string
	}{
		{"whole seconds", doc{Deadline: resource.Duration{Duration: 90 * time.Second}}, `{"deadline":"1m30s"}`},
		{"a fraction of a second", doc{Deadline: resource.Duration{Duration: 1500 * time.Millisecond}}, `{"deadline":"1.5s"}`},
		{"hours", doc{Deadline: resource.Duration{Duration: 26 * time.Hour}}, `{"deadline":"26h0m0s"}`},
		{"zero is left out under omitzero", doc{}, `{}`},
		{"a pointer to zero", doc{Timeout: &resource.Duration{}}, `{"timeout":"0s"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil || string(b) != tt.want {
				t.Fatalf("Marshal = %s, %v; want %s", b, err, tt.want)
			}
			var back doc
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if back.Deadline != tt.in.Deadline || (back.Timeout == nil) != (tt.in.Timeout == nil) ||
				(back.Timeout != nil && *back.Timeout != *tt.in.Timeout) {
				t.Fatalf("Unmarshal(%s) = %+v; want %+v", b, back, tt.in)
			}
		})
	}
}

func TestDurationReadsAnyGoDurationString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{`"90s"`: 90 * time.Second, `"5m"`: 5 * time.Minute,
		`"1h30m"`: 90 * time.Minute, `"250ms"`: 250 * time.Millisecond, `"0"`: 0} {
		var d resource.Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.Duration != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, d.Duration, err, want)
		}
	}
}

func TestDurationRefusesWhatIsNotADurationString(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`90`, `"soon"`, `"90"`, `true`, `{}`} {
		var d resource.Duration
		err := json.Unmarshal([]byte(in), &d)
		if err == nil || !strings.Contains(err.Error(), `want a duration such as "90s" or "5m"`) {
			t.Errorf("Unmarshal(%s) = %v; want an error asking for a duration such as \"90s\" or \"5m\"", in, err)
		}
	}
}
