package email_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/notify/email"
	"berth.dev/berth/internal/notify/webhook"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/tlstest"
)

var root = platform.Caller{Actor: audit.Actor{User: "admin"}, Bindings: []authz.Binding{{Role: authz.PlatformAdmin, Scope: authz.Platform}}}

// mailbox is a real SMTP server's backend (go-smtp over loopback): it
// takes PLAIN sign-in as ops/s3cret only over TLS, refuses the first
// refuse messages with a temporary failure, and keeps the rest.
type mailbox struct {
	mu     sync.Mutex
	refuse int
	got    []delivery
}

type delivery struct {
	from, user string
	to         []string
	tls        bool
	data       []byte
}

type session struct {
	box  *mailbox
	conn *smtp.Conn
	d    delivery
}

func (b *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{box: b, conn: c}, nil
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "ops" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.d.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.d.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.to = append(s.d.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.d.tls = s.conn.TLSConnectionState()
	s.d.data = data
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	if s.box.refuse > 0 {
		s.box.refuse--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox busy, try later"}
	}
	s.box.got = append(s.box.got, s.d)
	return nil
}

func (s *session) Reset()        { s.d = delivery{user: s.d.user} }
func (s *session) Logout() error { return nil }

func (b *mailbox) deliveries() []delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivery(nil), b.got...)
}

// startSMTP serves box on loopback with STARTTLS (startTLS) or without.
func startSMTP(t *testing.T, box *mailbox, startTLS bool) (port int, sender *email.Mailer, sealer *seal.AESGCM) {
	t.Helper()
	srv := smtp.NewServer(box)
	srv.Domain = "127.0.0.1"
	certFile, keyFile, pool := tlstest.SelfSigned(t, t.TempDir())
	if startTLS {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	sealer, err = seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return l.Addr().(*net.TCPAddr).Port, email.NewMailer(sealer, pool), sealer
}

// newPlatform is a platform on SQLite with project bank/pay.
func newPlatform(t *testing.T, sealer *seal.AESGCM) (*platform.Platform, *store.Store) {
	t.Helper()
	ctx := t.Context()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p, err := platform.New(st, platform.Options{Sealer: sealer, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(ctx, tx, audit.System, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		_, err := p.Tenancy.CreateProject(ctx, tx, audit.System, tenancy.Project{Tenant: "bank", Name: "pay"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, st
}

func firing() alert.Notification {
	return alert.Notification{Status: "firing", GroupLabels: map[string]string{"alertname": "pay-errors"}, Alerts: []alert.HookAlert{{
		Status:      "firing",
		Labels:      map[string]string{"alertname": "pay-errors", "tenant": "bank", "project": "pay", "environment": "prod", "app": "pay", "severity": "critical"},
		Annotations: map[string]string{"summary": "pay in prod: error rate 12% above 5%"},
		StartsAt:    time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)}}}
}

// receive posts n to receiver as Alertmanager does (with its token).
func receive(t *testing.T, p *platform.Platform, st *store.Store, receiver string, n alert.Notification) {
	t.Helper()
	var r alert.Receiver
	if err := st.View(t.Context(), func(tx platform.Tx) (err error) {
		r, err = tx.GetAlertReceiver(t.Context(), "bank", "pay", receiver)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.ReceiveAlerts(t.Context(), "bank", "pay", receiver, r.Token, n); err != nil {
		t.Fatal(err)
	}
}

func pending(t *testing.T, st *store.Store) []notify.Message {
	t.Helper()
	var out []notify.Message
	if err := st.View(t.Context(), func(tx platform.Tx) (err error) { out, err = tx.PendingNotifications(t.Context(), 10); return err }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAnAlertIsMailedOverSTARTTLSAndARefusalIsRetried: an email receiver
// (password sealed at rest, never shown) gets a firing alert through the
// outbox from a real SMTP server on loopback: STARTTLS with the test's
// certificate, PLAIN sign-in, a zh-CN subject and body; the server's first
// temporary refusal leaves the message in the outbox with one attempt,
// the next pass delivers it.
func TestAnAlertIsMailedOverSTARTTLSAndARefusalIsRetried(t *testing.T) {
	box := &mailbox{refuse: 1}
	port, mailer, sealer := startSMTP(t, box, true)
	p, st := newPlatform(t, sealer)
	r := alert.Receiver{Tenant: "bank", Project: "pay", Name: "oncall", Kind: alert.EmailKind, Email: &alert.Email{Host: "127.0.0.1",
		Port: port, From: "berth@bank.example", To: []string{"oncall@bank.example", "lead@bank.example"}, Username: "ops", Password: "s3cret"}}
	shown, created, err := p.PutAlertReceiver(t.Context(), root, r)
	if err != nil || !created {
		t.Fatalf("PutAlertReceiver = %v, %v", created, err)
	}
	if shown.Email.Password != "" || shown.Email.SealedPassword != nil || shown.Token != "" {
		t.Errorf("the answer shows a secret: %+v", shown.Email)
	}
	var stored alert.Receiver
	_ = st.View(t.Context(), func(tx platform.Tx) (err error) {
		stored, err = tx.GetAlertReceiver(t.Context(), "bank", "pay", "oncall")
		return err
	})
	if stored.Email.Password != "" || len(stored.Email.SealedPassword) == 0 || strings.Contains(string(stored.Email.SealedPassword), "s3cret") {
		t.Fatalf("stored password %q sealed %q, want it sealed only", stored.Email.Password, stored.Email.SealedPassword)
	}

	receive(t, p, st, "oncall", firing())
	s := webhook.NewSender(st, nil, slog.New(slog.DiscardHandler), time.Hour)
	s.SetMailer(mailer)
	if err := s.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	q := pending(t, st)
	if len(q) != 1 || q[0].Attempts != 1 || !strings.Contains(q[0].LastError, "451") {
		t.Fatalf("after a refusal the outbox holds %+v, want the message with one failed attempt naming the 451", q)
	}
	if got := box.deliveries(); len(got) != 0 {
		t.Fatalf("a refused message was kept: %d", len(got))
	}
	// Due again 2s after its first attempt's message time: wait for that,
	// then deliver.
	for deadline := time.Now().Add(30 * time.Second); len(pending(t, st)) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the message is still pending: %+v", pending(t, st))
		}
		time.Sleep(500 * time.Millisecond)
		if err := s.Once(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	got := box.deliveries()
	if len(got) != 1 {
		t.Fatalf("the mailbox got %d messages, want 1", len(got))
	}
	d := got[0]
	if !d.tls || d.user != "ops" || d.from != "berth@bank.example" || strings.Join(d.to, ",") != "oncall@bank.example,lead@bank.example" {
		t.Errorf("envelope tls=%v user=%q from=%q to=%v", d.tls, d.user, d.from, d.to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(d.data)))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "[Berth 告警:1] pay-errors pay prod" {
		t.Errorf("subject %q (%v)", subject, err)
	}
	if msg.Header.Get("From") != "berth@bank.example" || msg.Header.Get("To") != "oncall@bank.example, lead@bank.example" ||
		!strings.HasPrefix(msg.Header.Get("Message-ID"), "<berth-notification-") || msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("headers %v", msg.Header)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := "Berth 告警通知\r\n\r\n[告警] pay in prod: error rate 12% above 5%\r\n  项目: bank/pay  级别: critical  开始于 2026-12-07T21:00:00Z\r\n"
	if string(body) != want {
		t.Errorf("body\n%q\nwant\n%q", body, want)
	}
}

// TestAReceiverWithoutSTARTTLSIsNotSentInTheClear: a server that offers
// no STARTTLS gets nothing unless the receiver allows plaintext; then an
// English receiver's alert arrives in English.
func TestAReceiverWithoutSTARTTLSIsNotSentInTheClear(t *testing.T) {
	box := &mailbox{}
	port, mailer, sealer := startSMTP(t, box, false)
	p, st := newPlatform(t, sealer)
	r := alert.Receiver{Tenant: "bank", Project: "pay", Name: "oncall", Kind: alert.EmailKind, Email: &alert.Email{Host: "127.0.0.1",
		Port: port, From: "berth@bank.example", To: []string{"oncall@bank.example"}, Language: "en"}}
	if _, _, err := p.PutAlertReceiver(t.Context(), root, r); err != nil {
		t.Fatal(err)
	}
	receive(t, p, st, "oncall", firing())
	s := webhook.NewSender(st, nil, slog.New(slog.DiscardHandler), time.Hour)
	s.SetMailer(mailer)
	if err := s.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	if q := pending(t, st); len(q) != 1 || !strings.Contains(q[0].LastError, "does not offer STARTTLS") {
		t.Fatalf("outbox %+v, want the message kept with the STARTTLS refusal", q)
	}
	r.Email.Plaintext = true
	if _, _, err := p.PutAlertReceiver(t.Context(), root, r); err != nil {
		t.Fatal(err)
	}
	receive(t, p, st, "oncall", firing())
	if err := s.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := box.deliveries()
	if len(got) != 1 || got[0].tls {
		t.Fatalf("deliveries %+v, want one in plaintext", got)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got[0].data)))
	if err != nil {
		t.Fatal(err)
	}
	if s := msg.Header.Get("Subject"); s != "[Berth FIRING:1] pay-errors pay prod" {
		t.Errorf("subject %q", s)
	}
}

func TestEmailReceiversNameTheBadField(t *testing.T) {
	ok := alert.Email{Host: "smtp.bank.example", From: "berth@bank.example", To: []string{"oncall@bank.example"}}
	tests := []struct {
		name  string
		edit  func(r *alert.Receiver)
		field string
	}{
		{"no SMTP server", func(r *alert.Receiver) { r.Email = nil }, "email"},
		{"a URL", func(r *alert.Receiver) { r.URL = "https://x.example" }, "url"},
		{"a host with a port", func(r *alert.Receiver) { r.Email.Host = "smtp.bank.example:25" }, "email.host"},
		{"a port out of range", func(r *alert.Receiver) { r.Email.Port = 70000 }, "email.port"},
		{"a display name in from", func(r *alert.Receiver) { r.Email.From = "Berth <berth@bank.example>" }, "email.from"},
		{"no recipient", func(r *alert.Receiver) { r.Email.To = nil }, "email.to"},
		{"a header injected", func(r *alert.Receiver) { r.Email.To = []string{"a@b.example\r\nBcc: x@y.example"} }, "email.to[0]"},
		{"a password without a user", func(r *alert.Receiver) { r.Email.Password = "p" }, "email.username"},
		{"a password in the clear", func(r *alert.Receiver) { r.Email.Username, r.Email.Plaintext = "ops", true }, "email.plaintext"},
		{"an unknown language", func(r *alert.Receiver) { r.Email.Language = "fr" }, "email.language"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			r := alert.Receiver{Tenant: "bank", Project: "pay", Name: "mail", Kind: alert.EmailKind, Email: &e}
			tt.edit(&r)
			var ve *resource.ValidationError
			if err := r.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Path != tt.field {
				t.Fatalf("Validate = %v, want one error of %s", err, tt.field)
			}
		})
	}
	wecom := alert.Receiver{Tenant: "bank", Project: "pay", Name: "chat", Kind: alert.WeCom, URL: "https://qyapi.example/send?key=k", Email: &ok}
	var ve *resource.ValidationError
	if err := wecom.Validate(); !errors.As(err, &ve) || ve.Fields[0].Path != "email" {
		t.Errorf("a WeCom receiver with an SMTP server: %v", err)
	}
}
