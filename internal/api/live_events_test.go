package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/engine"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/live"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store/storetest"
)

// The live event stream, end to end: the engine as `berth server`
// assembles it (platform, change bus, live hub) over a real store, served
// over loopback HTTP, with real users logging in.

// testHeartbeat is the streams' heartbeat here, so a test sees a few.
const testHeartbeat = 100 * time.Millisecond

// newLiveHarness serves the API over an engine built by engine.New, with
// its live hub.
func newLiveHarness(t *testing.T, newStore storetest.NewStore) *harness {
	t.Helper()
	sealer, err := seal.New([]byte(strings.Repeat("\x07", seal.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(newStore(t), engine.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Sealer: sealer,
		Identity: identity.Options{Argon2: cheapArgon2}})
	if err != nil {
		t.Fatal(err)
	}
	// No cluster answers here: environments are created without asking
	// one about their namespace (the engine is not run either).
	eng.Platform.Tenancy.SetNamespaceInspector(nil)
	return startHarness(t, eng.Platform, Options{Events: eng.Live, Heartbeat: testHeartbeat})
}

// sse is one message of an event stream: an event, or a comment.
type sse struct {
	id, event, data, comment, retry string
}

// stream is an open event stream read in the background.
type stream struct {
	t      *testing.T
	got    chan sse
	cancel context.CancelFunc
	ended  chan struct{}
}

// openStream opens GET /events?query with the given headers and fails
// the test unless it answers 200 with an event stream.
func (h *harness) openStream(query string, headers ...string) *stream {
	h.t.Helper()
	resp, cancel := h.startStream(query, headers...)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		h.t.Fatalf("GET /events?%s: %d %s", query, resp.StatusCode, body)
	}
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(k); got != v {
			h.t.Errorf("%s %q, want %q", k, got, v)
		}
	}
	s := &stream{t: h.t, got: make(chan sse, 1024), cancel: cancel, ended: make(chan struct{})}
	go s.read(resp.Body)
	h.t.Cleanup(s.close)
	return s
}

// startStream sends the request and returns the response, whose body the
// caller reads; cancel ends it.
func (h *harness) startStream(query string, headers ...string) (*http.Response, context.CancelFunc) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.t.Context())
	req, err := http.NewRequestWithContext(ctx, "GET", h.url+Prefix+"/events?"+query, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.client().Do(req)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp, cancel
}

// read parses the stream into s.got until it ends.
func (s *stream) read(body io.ReadCloser) {
	defer close(s.ended)
	defer body.Close()
	sc := bufio.NewScanner(body)
	var m sse
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if m != (sse{}) {
				s.got <- m
			}
			m = sse{}
		case field == "":
			m.comment = value
		case field == "id":
			m.id = value
		case field == "event":
			m.event = value
		case field == "data":
			m.data = value
		case field == "retry":
			m.retry = value
		}
	}
}

func (s *stream) close() {
	s.cancel()
	<-s.ended
}

// next returns the next message that match accepts, skipping others;
// it fails the test if none comes within a generous deadline.
func (s *stream) next(what string, match func(sse) bool) sse {
	s.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-s.got:
			if !ok {
				s.t.Fatalf("stream ended waiting for %s", what)
			}
			if match(m) {
				return m
			}
		case <-s.ended:
			s.t.Fatalf("stream ended waiting for %s", what)
		case <-deadline:
			s.t.Fatalf("no %s", what)
		}
	}
}

// nextEvent returns the next event (comments skipped), decoded.
func (s *stream) nextEvent() (sse, live.Event) {
	s.t.Helper()
	m := s.next("event", func(m sse) bool { return m.event != "" })
	var e live.Event
	if m.event != "reset" {
		if err := json.Unmarshal([]byte(m.data), &e); err != nil {
			s.t.Fatalf("event data %q: %v", m.data, err)
		}
	}
	return m, e
}

// waitEnd fails the test unless the stream ends.
func (s *stream) waitEnd(what string) {
	s.t.Helper()
	select {
	case <-s.ended:
	case <-time.After(20 * time.Second):
		s.t.Fatalf("stream still open after %s", what)
	}
}

// liveFixture is two tenants (own and other, project p1 each, app1 in
// environment dev) and a tenant admin of each.
type liveFixture struct {
	h                  *harness
	admin, alice, bob  string
	ownPath, otherPath string
}

func newLiveFixture(t *testing.T, newStore storetest.NewStore) *liveFixture {
	h := newLiveHarness(t, newStore)
	admin := h.token("admin", adminPassword)
	seedPlatform(h, admin)
	for tn, ports := range map[string][2]string{own: {"31000-31099", "31000-31049"}, other: {"31100-31199", "31100-31149"}} {
		seedTenant(h, admin, tn, ports[0])
		seedProject(t, h, admin, tn, proj, tn+"-dev", ports[1])
	}
	for user, tn := range map[string]string{"alice": own, "bob": other} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": user, "password": "password-of-" + user})
		h.must(http.StatusCreated, admin, "POST", "/tenants/"+tn+"/members", map[string]string{"user": user, "role": "tenant-admin"})
	}
	return &liveFixture{h: h, admin: admin, alice: h.token("alice", "password-of-alice"), bob: h.token("bob", "password-of-bob"),
		ownPath: projPath(own) + "/environments/dev/deployments/app1", otherPath: projPath(other) + "/environments/dev/deployments/app1"}
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

// deploy sets app1's version in the tenant's environment as admin.
func (f *liveFixture) deploy(path, version string) {
	f.h.must(http.StatusOK, f.admin, "PUT", path, map[string]string{"version": version})
}

func TestLiveEvents(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		new  func(*testing.T) storetest.NewStore
	}{
		{"sqlite", func(t *testing.T) storetest.NewStore { return storetest.SQLite(t) }},
		{"postgres", func(t *testing.T) storetest.NewStore { return storetest.Postgres(t) }},
	}
	for _, db := range stores {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			f := newLiveFixture(t, db.new(t))
			for _, c := range []struct {
				name string
				run  func(*liveFixture, *testing.T)
			}{
				{"a member receives a deployment change of their tenant and never another tenant's", (*liveFixture).tenantsApart},
				{"an audit record reaches the auditors of its tenant only", (*liveFixture).auditApart},
				{"a config item's change reaches the readers of its project only, naming group/dataId", (*liveFixture).configsApart},
				{"resuming after Last-Event-ID replays the missed events exactly once", (*liveFixture).resume},
				{"an unknown Last-Event-ID starts with a reset", (*liveFixture).unknownID},
				{"an idle stream sends heartbeats", (*liveFixture).heartbeat},
				{"a fifth stream of one user is refused", (*liveFixture).fifthStream},
				{"without credentials the stream is refused", (*liveFixture).unauthenticated},
				{"an unknown topic is refused naming the field", (*liveFixture).unknownTopic},
				{"logging out ends the session's stream", (*liveFixture).logout},
				{"a revoked role binding stops its events at the next heartbeat", (*liveFixture).revoked},
			} {
				t.Run(c.name, func(t *testing.T) { c.run(f.in(t), t) })
			}
		})
	}
}

// in is f for subtest t: failures and stream cleanups belong to t, so
// each subtest's streams are closed when it ends.
// It waits for the streams of earlier subtests to be gone from the hub.
func (f *liveFixture) in(t *testing.T) *liveFixture {
	h := *f.h
	h.t = t
	g := *f
	g.h = &h
	h.settle(0)
	return &g
}

// settle waits until the hub counts n open streams: a stream the client
// closed leaves the hub once its handler sees the connection go.
func (h *harness) settle(n int) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for h.api.hub.Streams() != n {
		if time.Now().After(deadline) {
			h.t.Fatalf("%d streams open, want %d", h.api.hub.Streams(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (f *liveFixture) tenantsApart(t *testing.T) {
	alice := f.h.openStream("topics=deployments", bearer(f.alice)...)
	bob := f.h.openStream("topics=deployments", bearer(f.bob)...)
	f.deploy(f.otherPath, "v2")
	f.deploy(f.ownPath, "v2")
	m, e := alice.nextEvent()
	want := live.Event{Topic: live.Deployments, Kind: "deployment", Tenant: own, Project: proj, Environment: "dev", Name: "app1"}
	if m.event != "deployments" || e != want {
		t.Errorf("alice's first event %s %+v, want deployments %+v (the other tenant's change came first and must not reach her)", m.event, e, want)
	}
	_, e = bob.nextEvent()
	if e.Tenant != other {
		t.Errorf("bob's first event is of tenant %q, want %q", e.Tenant, other)
	}
}

func (f *liveFixture) configsApart(t *testing.T) {
	alice := f.h.openStream("topics=configs", bearer(f.alice)...)
	for _, tn := range []string{other, own} {
		f.h.must(http.StatusOK, f.admin, "PUT", projPath(tn)+"/environments/dev/configs/DEFAULT_GROUP/pay.yaml",
			map[string]string{"type": "yaml", "content": "pool: 10\n"})
	}
	m, e := alice.nextEvent()
	want := live.Event{Topic: live.Configs, Kind: "config", Tenant: own, Project: proj, Environment: "dev", Name: "DEFAULT_GROUP/pay.yaml"}
	if m.event != "configs" || e != want {
		t.Errorf("alice's first config event %s %+v, want configs %+v (the other tenant's change came first and must not reach her)", m.event, e, want)
	}
}

func (f *liveFixture) auditApart(t *testing.T) {
	alice := f.h.openStream("topics=audit", bearer(f.alice)...)
	f.deploy(f.otherPath, "v1")
	f.deploy(f.ownPath, "v1")
	m, e := alice.nextEvent()
	if m.event != "audit" || e.Kind != "audit" || e.Tenant != own || e.Seq <= 0 {
		t.Fatalf("alice's first audit event %s %+v, want a record of tenant %s with its seq", m.event, e, own)
	}
	var page apitypes.List[struct {
		Seq    int64  `json:"seq"`
		Tenant string `json:"tenant"`
		Action string `json:"action"`
	}]
	f.h.must(http.StatusOK, f.alice, "GET", "/audit?tenant="+own+"&limit=1", nil).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].Seq != e.Seq {
		t.Errorf("the newest record of %s is %+v, want the event's seq %d", own, page.Items, e.Seq)
	}
}

func (f *liveFixture) resume(t *testing.T) {
	first := f.h.openStream("topics=deployments", bearer(f.alice)...)
	f.deploy(f.ownPath, "v2")
	seen, _ := first.nextEvent()
	first.close()
	f.h.settle(0)
	f.deploy(f.ownPath, "v1") // missed
	f.deploy(f.ownPath, "v2") // missed
	again := f.h.openStream("topics=deployments", append(bearer(f.alice), "Last-Event-ID", seen.id)...)
	var ids []string
	for range 2 {
		m, e := again.nextEvent()
		if m.event != "deployments" || e.Tenant != own {
			t.Fatalf("replayed %s %+v, want a deployment of %s", m.event, e, own)
		}
		ids = append(ids, m.id)
	}
	f.deploy(f.ownPath, "v1") // live, after the replay
	m, _ := again.nextEvent()
	if m.id == seen.id || m.id == ids[0] || m.id == ids[1] || ids[0] == ids[1] || ids[0] == seen.id {
		t.Errorf("IDs seen %s, replayed %v, then live %s: want each event once", seen.id, ids, m.id)
	}
	// The query parameter resumes the same way.
	q := f.h.openStream("topics=deployments&lastEventId="+ids[1], bearer(f.alice)...)
	if r, _ := q.nextEvent(); r.id != m.id {
		t.Errorf("resuming after %s by query replays %s, want %s", ids[1], r.id, m.id)
	}
}

func (f *liveFixture) unknownID(t *testing.T) {
	s := f.h.openStream("", append(bearer(f.alice), "Last-Event-ID", "feedface-1")...)
	m, _ := s.nextEvent()
	if m.event != "reset" || m.data != "{}" {
		t.Errorf("first event %+v, want a reset with data {}", m)
	}
}

func (f *liveFixture) heartbeat(t *testing.T) {
	s := f.h.openStream("topics=releases", bearer(f.bob)...)
	if m := s.next("first message", func(sse) bool { return true }); m != (sse{retry: "3000"}) {
		t.Errorf("first message %+v, want retry: 3000 alone", m)
	}
	s.next("heartbeat", isPing)
}

// isPing reports whether m is a heartbeat.
func isPing(m sse) bool { return strings.HasPrefix(m.comment, "ping ") }

// pingAfter reports whether m is a heartbeat whose stream read the
// caller's bindings after t: it follows every change committed before t.
// A heartbeat alone proves nothing: under load, some written before a
// change may still be in transit when the change's request returns.
func pingAfter(t *testing.T, m sse, after time.Time) bool {
	t.Helper()
	read, ok := strings.CutPrefix(m.comment, "ping ")
	if !ok {
		return false
	}
	ns, err := strconv.ParseInt(read, 10, 64)
	if err != nil {
		t.Fatalf("heartbeat %q: want the Unix nanoseconds its bindings were read: %v", m.comment, err)
	}
	return ns > after.UnixNano()
}

func (f *liveFixture) fifthStream(t *testing.T) {
	var open []*stream
	for range live.DefaultPerOwner {
		open = append(open, f.h.openStream("", bearer(f.bob)...))
	}
	resp, cancel := f.h.startStream("", bearer(f.bob)...)
	defer cancel()
	var body apitypes.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests || body.Code != "too_many_streams" || body.Message == "" {
		t.Errorf("fifth stream: %d %+v, want 429 too_many_streams with a message", resp.StatusCode, body)
	}
	open[0].close()
	f.h.settle(len(open) - 1)
	f.h.openStream("", bearer(f.bob)...) // one closed, one may open
}

func (f *liveFixture) unauthenticated(t *testing.T) {
	r := f.h.call("", "GET", "/events", nil)
	if r.status != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", r.status)
	}
}

func (f *liveFixture) unknownTopic(t *testing.T) {
	r := f.h.call(f.alice, "GET", "/events?topics=deployments,pods", nil)
	if fs := r.errorBody(t).Fields; r.status != http.StatusUnprocessableEntity || len(fs) != 1 || fs[0].Path != "topics" {
		t.Errorf("unknown topic: %d %+v, want 422 naming topics", r.status, fs)
	}
}

func (f *liveFixture) logout(t *testing.T) {
	r := f.h.must(http.StatusOK, "", "POST", "/login", apitypes.LoginRequest{Username: "alice", Password: "password-of-alice"})
	var lr apitypes.LoginResponse
	r.decode(t, &lr)
	var cookies []string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	cookie := strings.Join(cookies, "; ")
	s := f.h.openStream("", "Cookie", cookie)
	s.next("heartbeat", isPing)
	if r := f.h.call("", "POST", "/logout", nil, "Cookie", cookie, CSRFHeader, lr.CSRFToken); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	s.waitEnd("logout")
	if r := f.h.call("", "GET", "/events", nil, "Cookie", cookie); r.status != http.StatusUnauthorized {
		t.Errorf("reconnecting after logout: %d, want 401", r.status)
	}
}

func (f *liveFixture) revoked(t *testing.T) {
	watcher := f.h.openStream("topics=deployments", bearer(f.admin)...)
	bob := f.h.openStream("topics=deployments", bearer(f.bob)...)
	members := "/tenants/" + other + "/members"
	// After each change of bindings, a heartbeat whose bindings were read
	// after the change committed: from then on the stream filters by the
	// new ones. Bob holds no binding while it is awaited after the
	// revocation, so any event seen meanwhile is one he must not get.
	heartbeat := func(after time.Time) {
		for {
			m := bob.next("heartbeat", func(m sse) bool { return isPing(m) || m.event != "" })
			if m.event != "" {
				t.Errorf("bob received %s %s while he held no binding", m.id, m.data)
				continue
			}
			if pingAfter(t, m, after) {
				return
			}
		}
	}
	f.h.must(http.StatusNoContent, f.admin, "DELETE", members+"/bob/tenant-admin", nil)
	heartbeat(time.Now())
	f.deploy(f.otherPath, "v2")
	hidden, _ := watcher.nextEvent()
	f.h.must(http.StatusCreated, f.admin, "POST", members, map[string]string{"user": "bob", "role": "tenant-admin"})
	heartbeat(time.Now())
	f.deploy(f.otherPath, "v1")
	shown, _ := watcher.nextEvent()
	if got, _ := bob.nextEvent(); got.id != shown.id {
		t.Errorf("bob's first event %s, want %s (the change after his binding came back; %s came while he had none)", got.id, shown.id, hidden.id)
	}
}
