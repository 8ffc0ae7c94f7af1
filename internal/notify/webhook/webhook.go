// Package webhook delivers the notification outbox to group chats: WeCom
// (企业微信) and DingTalk (钉钉) robot webhooks take markdown messages; the
// "json" format posts the notify.Message itself for any other receiver.
// Messages addressed to an SMTP server go to the Mailer (internal/notify/email).
//
// Delivery is at least once: a message is removed from the outbox only after
// every target accepted it, and retried with backoff otherwise, so a target
// that was down gets it late and one that was up may get it twice.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/platform"
)

// Formats a target may take.
const (
	WeCom    = "wecom"
	DingTalk = "dingtalk"
	JSON     = "json"
)

// MaxAttempts is how often a message is tried before it is dropped (and
// the drop logged): about a day with the backoff below.
const MaxAttempts = 30

// Target is one webhook.
type Target struct {
	Format string
	URL    string
}

// ParseTargets reads "format=url,format=url", as in the server's
// notifyWebhooks setting. An empty string is no target.
func ParseTargets(s string) ([]Target, error) {
	var out []Target
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		format, url, ok := strings.Cut(part, "=")
		if !ok || (format != WeCom && format != DingTalk && format != JSON) {
			return nil, fmt.Errorf("webhook %d: want FORMAT=URL with FORMAT wecom, dingtalk or json, got %q", i+1, part)
		}
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return nil, fmt.Errorf("webhook %d: want an http(s) URL, got %q", i+1, url)
		}
		out = append(out, Target{Format: format, URL: url})
	}
	return out, nil
}

// Payload is the request body m is sent as to a target of format.
func Payload(format string, m notify.Message) ([]byte, error) {
	switch format {
	case WeCom:
		return json.Marshal(map[string]any{"msgtype": "markdown",
			"markdown": map[string]string{"content": "### " + m.Title + "\n" + m.Text}})
	case DingTalk:
		return json.Marshal(map[string]any{"msgtype": "markdown",
			"markdown": map[string]string{"title": m.Title, "text": "### " + m.Title + "\n" + m.Text}})
	case JSON:
		m.Format, m.URL = "", "" // the target's address is no business of the target
		return json.Marshal(m)
	}
	return nil, fmt.Errorf("unknown webhook format %q", format)
}

// Sender delivers the outbox.
type Sender struct {
	db      platform.Transactor
	targets []Target
	client  *http.Client
	log     *slog.Logger
	every   time.Duration
	now     func() time.Time
	mailer  Mailer
}

// Mailer delivers messages of format "email" (internal/notify/email).
type Mailer interface {
	Send(ctx context.Context, m notify.Message) error
}

// SetMailer sets the deliverer of email messages; without one they are
// kept and retried.
func (s *Sender) SetMailer(m Mailer) { s.mailer = m }

// NewSender returns a sender of db's outbox to targets, looking every
// interval (0: one second).
func NewSender(db platform.Transactor, targets []Target, log *slog.Logger, every time.Duration) *Sender {
	if every == 0 {
		every = time.Second
	}
	return &Sender{db: db, targets: targets, log: log, every: every, now: time.Now,
		client: &http.Client{Timeout: 10 * time.Second}}
}

// Run delivers until ctx ends. Without targets it empties the outbox of
// messages addressed to none, so they do not pile up on a platform that
// notifies nobody; a message with its own URL (an alert receiver's) goes
// there.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		if err := s.Once(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("deliver notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once delivers what is due in the outbox now.
func (s *Sender) Once(ctx context.Context) error {
	var pending []notify.Message
	if err := s.db.View(ctx, func(tx platform.Tx) (err error) {
		pending, err = tx.PendingNotifications(ctx, 100)
		return err
	}); err != nil {
		return err
	}
	for _, m := range pending {
		if !s.due(m) {
			continue
		}
		err := s.deliver(ctx, m)
		if err := s.settle(ctx, m, err); err != nil {
			return err
		}
	}
	return nil
}

// due applies the backoff: 2^attempts seconds after the message, capped at
// an hour.
func (s *Sender) due(m notify.Message) bool {
	if m.Attempts == 0 {
		return true
	}
	wait := time.Duration(1<<min(m.Attempts, 12)) * time.Second
	return s.now().After(m.At.Add(min(wait, time.Hour)))
}

func (s *Sender) settle(ctx context.Context, m notify.Message, deliverErr error) error {
	return s.db.InTx(ctx, func(tx platform.Tx) error {
		if deliverErr == nil {
			return tx.DeleteNotification(ctx, m.ID)
		}
		m.Attempts++
		m.LastError = deliverErr.Error()
		if m.Attempts >= MaxAttempts {
			s.log.Error("notification dropped after retries", "event", m.Event, "title", m.Title, "err", deliverErr)
			return tx.DeleteNotification(ctx, m.ID)
		}
		return tx.UpdateNotification(ctx, m)
	})
}

func (s *Sender) deliver(ctx context.Context, m notify.Message) error {
	if m.Email != nil {
		if s.mailer == nil {
			return fmt.Errorf("no mailer for email to %s", m.Email.Host)
		}
		return s.mailer.Send(ctx, m)
	}
	targets := s.targets
	if m.URL != "" {
		targets = []Target{{Format: m.Format, URL: m.URL}}
	}
	for _, t := range targets {
		body, err := Payload(t.Format, m)
		if err != nil {
			return err
		}
		if err := s.post(ctx, t, body); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sender) post(ctx context.Context, t Target, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s webhook: %w", t.Format, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s webhook: %w", t.Format, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s webhook answered %s", t.Format, resp.Status)
	}
	// WeCom and DingTalk answer 200 with {"errcode":N} on refusal.
	var r struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if json.Unmarshal(reply, &r) == nil && r.ErrCode != 0 {
		return fmt.Errorf("%s webhook refused the message: %d %s", t.Format, r.ErrCode, r.ErrMsg)
	}
	return nil
}
