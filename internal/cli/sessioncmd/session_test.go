package sessioncmd

import (
	"bytes"
	"testing"
	"time"

	"berth.dev/berth/internal/terminal"
)

// TestReplayPrintsWhatTheTerminalShowed: a recording written by the
// server's recorder replays its output, and only its output, byte-exact.
func TestReplayPrintsWhatTheTerminalShowed(t *testing.T) {
	t.Parallel()
	var rec bytes.Buffer
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r, err := terminal.NewRecorder(&rec, t0, "test", 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	shown := []string{"ERROR a\n", "berth: refused \"x\"\r\n", "\x1b[1m支付\x1b[0m\n"}
	_ = r.Input(t0, "tail -n 1 /var/log/a\n")
	for i, s := range shown {
		if err := r.Output(t0.Add(time.Duration(i)*time.Second), s); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := replay(&rec, &out); err != nil {
		t.Fatal(err)
	}
	if want := shown[0] + shown[1] + shown[2]; out.String() != want {
		t.Errorf("replay = %q, want %q", out.String(), want)
	}
}
