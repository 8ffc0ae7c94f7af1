package live_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/live"
)

// FuzzParseTopics: any query value is either a list of distinct known
// topics or an error naming the field.
func FuzzParseTopics(f *testing.F) {
	for _, s := range []string{"", "deployments", "audit,releases", "audit,audit", "pods", " network , grayplans ", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		got, err := live.ParseTopics("topics", list)
		if err != nil {
			if !strings.Contains(err.Error(), "topics") {
				t.Errorf("%q: error %v names no field", list, err)
			}
			return
		}
		for i, tp := range got {
			if !slices.Contains(live.Topics, tp) || slices.Contains(got[:i], tp) {
				t.Errorf("%q: topics %v, want distinct known topics", list, got)
			}
		}
	})
}

// FuzzResumeFromAnyID: whatever Last-Event-ID a client sends, the stream
// either resets or replays only events of this hub that came after the
// ID, oldest first.
func FuzzResumeFromAnyID(f *testing.F) {
	h := live.NewHub(live.Options{Ring: 8, MaxPerOwner: 1 << 30, MaxStreams: 1 << 30})
	probe, err := h.Open("probe", live.Topics, func(live.Event) bool { return true }, "")
	if err != nil {
		f.Fatal(err)
	}
	for i := range 20 {
		h.Publish(change.Changed{Kind: change.Deployment, Key: change.Key{Tenant: "t", Name: strconv.Itoa(i)}})
	}
	_, evs := probe.Take()
	probe.Close()
	boot := strings.Split(evs[0].ID, "-")[0]
	for _, s := range []string{"", evs[0].ID, evs[15].ID, evs[19].ID, boot + "-0", boot + "-99", "x-1", boot + "--1", boot + "-18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, last string) {
		s, err := h.Open("u", live.Topics, func(live.Event) bool { return true }, last)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		reset, got := s.Take()
		if last == "" && (reset != "" || len(got) > 0) {
			t.Fatalf("no ID: reset %q and %d events, want nothing", reset, len(got))
		}
		if reset != "" {
			if len(got) > 0 {
				t.Errorf("%q: reset and %d events", last, len(got))
			}
			return
		}
		idx := slices.IndexFunc(evs, func(e live.Event) bool { return e.ID == last })
		if last != "" && (idx < 0 || !slices.Equal(ids(got), ids(evs[idx+1:]))) {
			t.Errorf("%q: replayed %v without a reset", last, ids(got))
		}
	})
}

func ids(evs []live.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}
