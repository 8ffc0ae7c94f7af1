package webhook_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/notify/webhook"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store"
)

// chat is a group-chat robot on loopback: it records what it is sent and
// refuses the first refuse requests the way WeCom does (200 + errcode).
type chat struct {
	mu     sync.Mutex
	got    []map[string]any
	refuse int
}

func (c *chat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse > 0 {
		c.refuse--
		_, _ = io.WriteString(w, `{"errcode":45009,"errmsg":"api freq out of limit"}`)
		return
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	c.got = append(c.got, m)
	_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
}

func (c *chat) messages() []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]any(nil), c.got...)
}

func TestTheOutboxReachesEveryChatAndRetriesARefusal(t *testing.T) {
	st, err := store.OpenSQLite(t.Context(), t.TempDir()+"/berth.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wecom, ding := &chat{refuse: 1}, &chat{}
	ws, ds := httptest.NewServer(wecom), httptest.NewServer(ding)
	defer ws.Close()
	defer ds.Close()
	targets, err := webhook.ParseTargets("wecom=" + ws.URL + ", dingtalk=" + ds.URL)
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(t.Context(), func(tx platform.Tx) error {
		return tx.EnqueueNotification(t.Context(), notify.Message{Event: "release.failed", Title: "发布单 ro-1 失败",
			Text: "fault: `CrashLoopBackOff`", At: time.Now().Add(-time.Minute)})
	})
	if err != nil {
		t.Fatal(err)
	}
	s := webhook.NewSender(st, targets, slog.New(slog.DiscardHandler), time.Hour)
	if err := s.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	var pending []notify.Message
	_ = st.View(t.Context(), func(tx platform.Tx) (err error) { pending, err = tx.PendingNotifications(t.Context(), 10); return err })
	if len(pending) != 1 || pending[0].Attempts != 1 || !strings.Contains(pending[0].LastError, "45009") {
		t.Fatalf("after a refusal the outbox holds %+v, want the message with one failed attempt", pending)
	}
	if err := s.Once(t.Context()); err != nil { // due again: 2s after a message a minute old
		t.Fatal(err)
	}
	_ = st.View(t.Context(), func(tx platform.Tx) (err error) { pending, err = tx.PendingNotifications(t.Context(), 10); return err })
	if len(pending) != 0 {
		t.Fatalf("delivered message still pending: %+v", pending)
	}
	w, d := wecom.messages(), ding.messages()
	// Targets are tried in order: the refused first attempt stopped at WeCom.
	if len(w) != 1 || len(d) != 1 {
		t.Fatalf("wecom got %d, dingtalk %d", len(w), len(d))
	}
	md := w[0]["markdown"].(map[string]any)
	if w[0]["msgtype"] != "markdown" || !strings.Contains(md["content"].(string), "发布单 ro-1 失败") {
		t.Errorf("wecom payload %v", w[0])
	}
	dm := d[0]["markdown"].(map[string]any)
	if dm["title"] != "发布单 ro-1 失败" || !strings.Contains(dm["text"].(string), "CrashLoopBackOff") {
		t.Errorf("dingtalk payload %v", d[0])
	}
}

func TestParseTargetsNamesTheBadEntry(t *testing.T) {
	for in, want := range map[string]string{
		"slack=https://x":             "webhook 1: want FORMAT=URL",
		"json=https://a, wecom=ftp:/": "webhook 2: want an http(s) URL",
	} {
		if _, err := webhook.ParseTargets(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	if ts, err := webhook.ParseTargets(""); err != nil || len(ts) != 0 {
		t.Errorf("empty: %v %v", ts, err)
	}
}

// TestAMessageWithItsOwnAddressGoesThereOnly: an alert receiver's message
// is delivered to the receiver alone, not to the server's webhooks, and a
// json receiver is not told the address it was sent to.
func TestAMessageWithItsOwnAddressGoesThereOnly(t *testing.T) {
	st, err := store.OpenSQLite(t.Context(), t.TempDir()+"/berth.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	configured, receiver, hook := &chat{}, &chat{}, &chat{}
	cs, rs, hs := httptest.NewServer(configured), httptest.NewServer(receiver), httptest.NewServer(hook)
	defer cs.Close()
	defer rs.Close()
	defer hs.Close()
	err = st.InTx(t.Context(), func(tx platform.Tx) error {
		if err := tx.EnqueueNotification(t.Context(), notify.Message{Event: "alert.firing", Title: "[FIRING:1] red-auth-errors",
			Text: "- **FIRING** …", Format: webhook.DingTalk, URL: rs.URL + "/robot/send?access_token=secret"}); err != nil {
			return err
		}
		return tx.EnqueueNotification(t.Context(), notify.Message{Event: "alert.firing", Title: "to a webhook", Format: webhook.JSON, URL: hs.URL})
	})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := webhook.ParseTargets("wecom=" + cs.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhook.NewSender(st, targets, slog.New(slog.DiscardHandler), time.Hour).Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := configured.messages(); len(got) != 0 {
		t.Errorf("the server's webhook got an alert receiver's messages: %v", got)
	}
	got := receiver.messages()
	if len(got) != 1 || got[0]["msgtype"] != "markdown" || !strings.Contains(got[0]["markdown"].(map[string]any)["title"].(string), "red-auth-errors") {
		t.Errorf("the receiver got %v, want one DingTalk markdown message", got)
	}
	js := hook.messages()
	if len(js) != 1 || js[0]["title"] != "to a webhook" || js[0]["url"] != nil || js[0]["format"] != nil {
		t.Errorf("the json receiver got %v, want the message without its address", js)
	}
}
