package e2e

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAFrozenLeaderWakesFencedAndStops freezes the leader with SIGSTOP
// (a stalled machine, a long GC pause) while a release order goes
// forward through the follower. The follower takes over within the lease
// and ends the order Succeeded. Thawed, the old leader still believes for
// a moment that it leads, with the order's work in flight: it must commit
// nothing — the order is exactly as the new leader left it — and must stop
// serving with "leadership lost", to be started again as a follower. The
// audit chain verifies.
func TestAFrozenLeaderWakesFencedAndStops(t *testing.T) {
	apps := []string{"s1", "s2", "s3", "s4"}
	h := startHA(t, "bank-pay-haf", apps)
	id := startedOrder(t, h.b, stagesOf(apps, "v2", ""))
	h.lead.signal(syscall.SIGSTOP)
	frozen := time.Now()
	takesOver(t, h.follower, frozen)
	o := ended(t, h.b, id)
	if o.State != "Succeeded" {
		t.Fatalf("order ended %s under the new leader, failure %+v: %+v", o.State, o.Failure, o.Items)
	}
	before := h.lead.stored(id)

	exited := make(chan error, 1)
	go func() { exited <- h.lead.cmd.Wait() }()
	h.lead.signal(syscall.SIGCONT)
	select {
	case err := <-exited:
		if err == nil {
			t.Error("the deposed leader exited without an error")
		}
	case <-time.After(time.Minute):
		t.Fatal("the deposed leader still runs a minute after it woke")
	}
	log, err := os.ReadFile(h.lead.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "leadership lost") {
		t.Errorf("the deposed leader's log does not say it lost its leadership:\n%s", tailOf(string(log), 2000))
	}
	if after := h.lead.stored(id); after.ResourceVersion != before.ResourceVersion || after.State != before.State {
		t.Fatalf("the order changed after the deposed leader woke: %s v%d → %s v%d", before.State, before.ResourceVersion, after.State, after.ResourceVersion)
	}
	for _, app := range apps {
		runs(t, h.c, h.ns, app, "v2")
	}
	h.b.must("", []string{"audit", "verify"}, "OK")
}

// signal sends s to the server process.
func (p *process) signal(s syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
