// Package email sends notifications addressed to an SMTP server (an email
// alert receiver's, notify.Email) for the outbox's sender
// (internal/notify/webhook): STARTTLS unless the receiver allows plaintext,
// SASL PLAIN sign-in with the receiver's sealed password, and a plain-text
// UTF-8 message whose Message-ID is the outbox message's, so a message
// delivered twice (at least once) is recognisably one.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/notify"
)

// Format is the notify.Message format of email.
const Format = "email"

// Opener opens sealed secrets (tenancy.Sealer).
type Opener interface {
	Open(ciphertext, aad []byte) ([]byte, error)
}

// Mailer sends messages over SMTP.
type Mailer struct {
	opener Opener
	roots  *x509.CertPool
	// Timeout bounds one delivery, connection to QUIT.
	Timeout time.Duration
}

// NewMailer returns a mailer opening passwords with opener and trusting
// roots for STARTTLS (nil: the system's).
func NewMailer(opener Opener, roots *x509.CertPool) *Mailer {
	return &Mailer{opener: opener, roots: roots, Timeout: 30 * time.Second}
}

// Send delivers m to its Email's recipients; an error means it was not
// accepted (the sender retries).
func (ml *Mailer) Send(ctx context.Context, m notify.Message) error {
	e := m.Email
	if e == nil {
		return errors.New("email: the message has no SMTP server")
	}
	ctx, cancel := context.WithTimeout(ctx, ml.Timeout)
	defer cancel()
	addr := net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, e.Host)
	if err != nil {
		return fmt.Errorf("email: %s: %w", addr, err)
	}
	defer c.Close()
	if err := ml.secure(c, e); err != nil {
		return err
	}
	if err := c.Mail(e.From); err != nil {
		return fmt.Errorf("email: %s refused the sender: %w", addr, err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("email: %s refused recipient %s: %w", addr, to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: %s: %w", addr, err)
	}
	if _, err := w.Write(compose(m)); err != nil {
		return fmt.Errorf("email: %s: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: %s refused the message: %w", addr, err)
	}
	_ = c.Quit()
	return nil
}

// secure starts TLS (required unless e.Plaintext) and signs in.
func (ml *Mailer) secure(c *smtp.Client, e *notify.Email) error {
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: e.Host, RootCAs: ml.roots, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("email: STARTTLS with %s: %w", e.Host, err)
		}
	} else if !e.Plaintext {
		return fmt.Errorf("email: %s does not offer STARTTLS, and the receiver does not allow plaintext", e.Host)
	}
	if e.Username == "" {
		return nil
	}
	if len(e.SealedPassword) == 0 {
		return fmt.Errorf("email: the receiver signs in as %s but has no password", e.Username)
	}
	if ml.opener == nil {
		return errors.New("email: no key to open the receiver's password")
	}
	pw, err := ml.opener.Open(e.SealedPassword, []byte(e.PasswordAAD))
	if err != nil {
		return fmt.Errorf("email: open the receiver's password: %w", err)
	}
	if err := c.Auth(smtp.PlainAuth("", e.Username, string(pw), e.Host)); err != nil {
		return fmt.Errorf("email: sign in to %s as %s: %w", e.Host, e.Username, err)
	}
	return nil
}

// compose is m as an RFC 5322 message: UTF-8 subject (encoded word) and a
// quoted-printable plain-text body.
func compose(m notify.Message) []byte {
	e := m.Email
	var b bytes.Buffer
	domain := e.From[strings.LastIndexByte(e.From, '@')+1:]
	at := m.At
	if at.IsZero() {
		at = time.Now()
	}
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", e.From)
	hdr("To", strings.Join(e.To, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Title))
	hdr("Date", at.Format(time.RFC1123Z))
	hdr("Message-ID", fmt.Sprintf("<berth-notification-%d@%s>", m.ID, domain))
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Berth-Event", m.Event)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
