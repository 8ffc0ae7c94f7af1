// Package notify holds the notifications Berth sends to people's group
// chats (F12): what happened to a release, in a few lines of markdown.
//
// Notifications go through an outbox: the domain service that decides one
// writes it in the same transaction as the change it reports, and a sender
// (internal/notify/webhook) delivers it afterwards and marks it sent. A
// crash between the two sends it late, never loses it.
package notify

import (
	"context"
	"time"
)

// Message is one notification.
type Message struct {
	// ID is assigned by the store, in order of enqueueing.
	ID      int64  `json:"id"`
	Tenant  string `json:"tenant"`
	Project string `json:"project"`
	// Event is dotted like audit actions, e.g. "release.failed".
	Event string `json:"event"`
	// Title is one line; Text is markdown (WeCom and DingTalk render it).
	Title string    `json:"title"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
	// Format and URL, when URL is set, address the message to one target
	// (an alert receiver: internal/alert) instead of the server's
	// configured webhooks. Format is wecom, dingtalk, json, or email with
	// Email set instead of URL (Title is then the subject, Text the
	// plain-text body).
	Format string `json:"format,omitempty"`
	URL    string `json:"url,omitempty"`
	Email  *Email `json:"email,omitempty"`
	// Attempts counts failed deliveries so far.
	Attempts  int    `json:"attempts,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

// Store is the outbox, bound to one transaction.
type Store interface {
	// EnqueueNotification adds m to the outbox; m.ID is ignored.
	EnqueueNotification(ctx context.Context, m Message) error
	// PendingNotifications lists up to limit undelivered messages, oldest
	// first.
	PendingNotifications(ctx context.Context, limit int) ([]Message, error)
	// UpdateNotification records a failed attempt (m.Attempts, m.LastError).
	UpdateNotification(ctx context.Context, m Message) error
	// DeleteNotification removes a delivered (or abandoned) message.
	DeleteNotification(ctx context.Context, id int64) error
}

// Email addresses a message to an SMTP server's recipients (an email
// alert receiver's; internal/notify/email sends it).
type Email struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	From     string   `json:"from"`
	To       []string `json:"to"`
	Username string   `json:"username,omitempty"`
	// SealedPassword is opened with PasswordAAD by the sender.
	SealedPassword []byte `json:"sealedPassword,omitempty"`
	PasswordAAD    string `json:"passwordAAD,omitempty"`
	// Plaintext allows a server without STARTTLS.
	Plaintext bool `json:"plaintext,omitempty"`
}
