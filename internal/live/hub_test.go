package live_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/live"
)

func all(live.Event) bool { return true }

func deployed(tenant, app string) change.Changed {
	return change.Changed{Kind: change.Deployment, Key: change.Key{Tenant: tenant, Project: "p", Environment: "e", Name: app}}
}

// names lists the kind and name of each event, for comparing.
func names(evs []live.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind+":"+e.Name)
	}
	return out
}

func open(t *testing.T, h *live.Hub, owner string, topics []live.Topic, allow func(live.Event) bool, last string) *live.Stream {
	t.Helper()
	s, err := h.Open(owner, topics, allow, last)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestEachChangeBecomesOneEventOfItsTopic(t *testing.T) {
	b := change.NewBus()
	h := live.NewHub(live.Options{})
	h.Subscribe(b)
	s := open(t, h, "u", live.Topics, all, "")
	for _, c := range []change.Changed{
		deployed("t", "pay"),
		{Kind: change.Applied, Key: change.Key{Tenant: "t", Project: "p", Environment: "e", Name: "pay"}},
		{Kind: change.Status, Key: change.Key{Tenant: "t", Project: "p", Environment: "e", Name: "pay"}},
		{Kind: change.Release, Key: change.Key{Tenant: "t", Project: "p", Name: "r-1"}},
		{Kind: change.GrayPlan, Key: change.Key{Tenant: "t", Project: "p", Environment: "e", Name: "pay"}},
		{Kind: change.Network, Key: change.Key{Tenant: "t", Project: "p", Environment: "e", Name: "pay"}},
		{Kind: change.Isolation, Key: change.Key{Tenant: "t"}},
		{Kind: change.Audit, Key: change.Key{Tenant: "t", Project: "p", Seq: 42}},
		{Kind: change.Config, Key: change.Key{Tenant: "t", Project: "p", Environment: "e", Name: "DEFAULT_GROUP/pay.yaml"}},
	} {
		b.Publish(c)
	}
	reset, evs := s.Take()
	if reset != "" {
		t.Errorf("reset %q on a fresh stream", reset)
	}
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s/%s %s/%s/%s/%s %d", e.Topic, e.Kind, e.Tenant, e.Project, e.Environment, e.Name, e.Seq))
	}
	want := []string{
		"deployments/deployment t/p/e/pay 0", "deployments/applied t/p/e/pay 0", "deployments/status t/p/e/pay 0",
		"releases/release t/p//r-1 0", "grayplans/grayplan t/p/e/pay 0", "network/network t/p/e/pay 0",
		"network/isolation t/// 0", "audit/audit t/p// 42", "configs/config t/p/e/DEFAULT_GROUP/pay.yaml 0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID == evs[i-1].ID || !strings.HasPrefix(evs[i].ID, strings.Split(evs[0].ID, "-")[0]+"-") {
			t.Errorf("IDs %q then %q: want distinct IDs of one boot", evs[i-1].ID, evs[i].ID)
		}
	}
}

func TestAStreamGetsOnlyItsTopicsAndWhatItsFilterAllows(t *testing.T) {
	h := live.NewHub(live.Options{})
	onlyA := func(e live.Event) bool { return e.Tenant == "a" }
	s := open(t, h, "u", []live.Topic{live.Deployments}, onlyA, "")
	h.Publish(deployed("a", "one"))
	h.Publish(deployed("b", "two"))
	h.Publish(change.Changed{Kind: change.Release, Key: change.Key{Tenant: "a", Project: "p", Name: "r"}})
	h.Publish(deployed("a", "three"))
	_, evs := s.Take()
	if diff := cmp.Diff([]string{"deployment:one", "deployment:three"}, names(evs)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestResumingReplaysWhatCameAfterTheLastIDOnce(t *testing.T) {
	h := live.NewHub(live.Options{})
	first := open(t, h, "u", live.Topics, all, "")
	h.Publish(deployed("t", "one"))
	_, seen := first.Take()
	first.Close()
	h.Publish(deployed("t", "two"))
	h.Publish(deployed("t", "three"))

	s := open(t, h, "u", live.Topics, all, seen[0].ID)
	h.Publish(deployed("t", "four"))
	reset, evs := s.Take()
	if reset != "" {
		t.Errorf("reset %q, want a resume", reset)
	}
	if diff := cmp.Diff([]string{"deployment:two", "deployment:three", "deployment:four"}, names(evs)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestAnIDTheRingCannotResumeFromResets(t *testing.T) {
	h := live.NewHub(live.Options{Ring: 2})
	s0 := open(t, h, "u", live.Topics, all, "")
	h.Publish(deployed("t", "one"))
	_, evs := s0.Take()
	oldest := evs[0].ID
	for _, n := range []string{"two", "three", "four"} {
		h.Publish(deployed("t", n))
	}
	_, evs = s0.Take()
	head := evs[len(evs)-1].ID
	boot := strings.Split(head, "-")[0]
	for _, tc := range []struct{ name, last string }{
		{"an ID older than the ring", oldest},
		{"an ID of another boot", "0000-1"},
		{"an ID from the future", boot + "-99"},
		{"not an ID at all", "garbage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, h, "v", live.Topics, all, tc.last)
			reset, evs := s.Take()
			if reset != head || len(evs) != 0 {
				t.Errorf("got reset %q and %v, want reset %q alone", reset, names(evs), head)
			}
		})
	}
}

func TestAFullStreamDropsItsBacklogAndResetsWithoutBlocking(t *testing.T) {
	h := live.NewHub(live.Options{StreamBuffer: 2})
	s := open(t, h, "u", live.Topics, all, "")
	for _, n := range []string{"one", "two", "three", "four"} {
		h.Publish(deployed("t", n)) // would block forever if the hub waited for the reader
	}
	reset, evs := s.Take()
	if reset == "" {
		t.Fatal("no reset after overflow")
	}
	// The reset sits just before what is still queued: "three" overflowed
	// and was queued anew after the reset, then "four".
	if diff := cmp.Diff([]string{"deployment:three", "deployment:four"}, names(evs)); diff != "" {
		t.Errorf("events after the reset (-want +got):\n%s", diff)
	}
	next := open(t, h, "u", live.Topics, all, reset)
	if _, replay := next.Take(); !cmp.Equal(names(replay), names(evs)) {
		t.Errorf("resuming after the reset's ID replays %v, want %v", names(replay), names(evs))
	}
}

func TestStreamsAreBoundedPerOwnerAndInAll(t *testing.T) {
	h := live.NewHub(live.Options{MaxPerOwner: 2, MaxStreams: 3})
	a1 := open(t, h, "a", live.Topics, all, "")
	open(t, h, "a", live.Topics, all, "")
	if _, err := h.Open("a", live.Topics, all, ""); err != live.ErrTooManyStreams {
		t.Errorf("third stream of a: %v, want ErrTooManyStreams", err)
	}
	open(t, h, "b", live.Topics, all, "")
	if _, err := h.Open("c", live.Topics, all, ""); err != live.ErrFull {
		t.Errorf("fourth stream in all: %v, want ErrFull", err)
	}
	a1.Close()
	a1.Close() // twice is harmless
	open(t, h, "a", live.Topics, all, "")
	if got := h.Streams(); got != 3 {
		t.Errorf("%d streams open, want 3", got)
	}
}

func TestClosingTheHubEndsItsStreamsAndRefusesNewOnes(t *testing.T) {
	h := live.NewHub(live.Options{})
	s := open(t, h, "u", live.Topics, all, "")
	h.Close()
	select {
	case <-s.Done():
	default:
		t.Error("stream not ended by Close")
	}
	if _, err := h.Open("u", live.Topics, all, ""); err != live.ErrClosed {
		t.Errorf("open after close: %v, want ErrClosed", err)
	}
}

func TestPermissionsFollowTheReadPermissionOfEachTopic(t *testing.T) {
	member := []authz.Binding{{Role: authz.Viewer, Scope: authz.ProjectScope("a", "p")}}
	for _, tc := range []struct {
		name string
		e    live.Event
		want bool
	}{
		{"a deployment of the member's project", live.Event{Topic: live.Deployments, Tenant: "a", Project: "p"}, true},
		{"a deployment of another tenant", live.Event{Topic: live.Deployments, Tenant: "b", Project: "p"}, false},
		{"a deployment of another project", live.Event{Topic: live.Deployments, Tenant: "a", Project: "q"}, false},
		{"a release order of the member's project", live.Event{Topic: live.Releases, Tenant: "a", Project: "p"}, true},
		{"a platform-wide audit record", live.Event{Topic: live.Audit}, false},
		{"a config item of the member's project", live.Event{Topic: live.Configs, Tenant: "a", Project: "p"}, true},
		{"a config item of another project", live.Event{Topic: live.Configs, Tenant: "a", Project: "q"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := live.Allowed(member, tc.e); got != tc.want {
				t.Errorf("Allowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTopicsAreParsedStrictly(t *testing.T) {
	got, err := live.ParseTopics("topics", "")
	if err != nil || !cmp.Equal(got, live.Topics) {
		t.Errorf("empty list: %v, %v; want every topic", got, err)
	}
	got, err = live.ParseTopics("topics", "audit, releases")
	if err != nil || !cmp.Equal(got, []live.Topic{live.Audit, live.Releases}) {
		t.Errorf("two topics: %v, %v", got, err)
	}
	for _, bad := range []string{"deployments,pods", "audit,audit", ","} {
		if _, err := live.ParseTopics("topics", bad); err == nil || !strings.Contains(err.Error(), "topics") {
			t.Errorf("%q: %v, want an error naming topics", bad, err)
		}
	}
}

func TestACoalescerPublishesEachKeyOncePerFlush(t *testing.T) {
	var got []string
	c := live.NewCoalescer(change.Status, func(ch change.Changed) { got = append(got, ch.Kind.String()+":"+ch.Key.Name) })
	for range 100 {
		c.Add(change.Key{Name: "pay"})
	}
	c.Add(change.Key{Name: "auth"})
	c.Flush()
	c.Flush()
	c.Add(change.Key{Name: "pay"})
	c.Flush()
	if diff := cmp.Diff([]string{"status:pay", "status:auth", "status:pay"}, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}
