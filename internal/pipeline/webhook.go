package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"berth.dev/berth/internal/resource"
)

// MaxWebhookBody bounds a webhook's body: a push of many commits fits.
const MaxWebhookBody = 1 << 20

// ErrBadSignature: a webhook without a valid signature or token. It is
// resource.ErrUnauthenticated, so the API answers 401.
var ErrBadSignature = fmt.Errorf("webhook signature: %w", resource.ErrUnauthenticated)

// ErrNotAPush: a webhook of another event (ping, tag deletion…): accepted,
// nothing runs.
var ErrNotAPush = errors.New("not a push of a branch")

// Headers are a request's headers (http.Header has this method).
type Headers interface {
	Get(key string) string
}

// Push is what a verified push webhook says.
type PushEvent struct {
	Provider Provider
	// Delivery is the provider's ID of this delivery: the same ID twice is
	// a replay.
	Delivery   string
	Ref        string
	Commit     string
	Pusher     string
	Repository string
}

var (
	commitRE   = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)
	deliveryRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// Verify checks a webhook of provider p against secret and reads the push
// it carries: ErrBadSignature unless the body is signed with secret
// (GitHub's X-Hub-Signature-256 and Gitea's X-Gitea-Signature, HMAC-SHA256
// of the body) or carries it (GitLab's X-Gitlab-Token), compared in
// constant time; ErrNotAPush for other events; a *resource.ValidationError
// for a push it cannot read. It keeps neither body nor secret.
func Verify(p Provider, h Headers, body, secret []byte) (PushEvent, error) {
	if len(secret) == 0 {
		return PushEvent{}, ErrBadSignature
	}
	var delivery, event string
	switch p {
	case GitHub, Gitea:
		hdr, prefix := "X-Hub-Signature-256", "sha256="
		delivery, event = h.Get("X-GitHub-Delivery"), h.Get("X-GitHub-Event")
		if p == Gitea {
			hdr, prefix = "X-Gitea-Signature", ""
			delivery, event = h.Get("X-Gitea-Delivery"), h.Get("X-Gitea-Event")
		}
		if !signed(body, secret, h.Get(hdr), prefix) {
			return PushEvent{}, ErrBadSignature
		}
	case GitLab:
		if subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), secret) != 1 {
			return PushEvent{}, ErrBadSignature
		}
		delivery, event = h.Get("X-Gitlab-Event-UUID"), h.Get("X-Gitlab-Event")
		if event == "Push Hook" {
			event = "push"
		}
	default:
		return PushEvent{}, fmt.Errorf("webhook provider %q: %w", p, ErrBadSignature)
	}
	if event != "push" {
		return PushEvent{}, ErrNotAPush
	}
	var errs resource.Errors
	if !deliveryRE.MatchString(delivery) {
		errs.Add("delivery", "the delivery ID header is missing or malformed")
		return PushEvent{}, errs.Err()
	}
	push, err := readPush(p, body)
	if err != nil {
		return PushEvent{}, err
	}
	push.Provider, push.Delivery = p, delivery
	return push, nil
}

// signed reports whether got is prefix + the hex HMAC-SHA256 of body
// under secret, compared in constant time.
func signed(body, secret []byte, got, prefix string) bool {
	hexSig, ok := strings.CutPrefix(got, prefix)
	if !ok {
		return false
	}
	sig, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(sig, m.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value of body under secret (and,
// without its "sha256=" prefix, Gitea's X-Gitea-Signature).
func Sign(body, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type user struct {
	Login    string `json:"login"`
	Username string `json:"username"`
	Name     string `json:"name"`
}

type pushBody struct {
	Ref         string `json:"ref"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"`
	Deleted     bool   `json:"deleted"`
	Repository  struct {
		CloneURL string `json:"clone_url"`
	} `json:"repository"`
	Pusher user `json:"pusher"`
	Sender user `json:"sender"`
	// GitLab's.
	UserUsername string `json:"user_username"`
	Project      struct {
		GitHTTPURL string `json:"git_http_url"`
	} `json:"project"`
}

func readPush(p Provider, body []byte) (PushEvent, error) {
	var b pushBody
	var errs resource.Errors
	if err := json.Unmarshal(body, &b); err != nil {
		errs.Add("body", "is not a push event's JSON: %v", err)
		return PushEvent{}, errs.Err()
	}
	push := PushEvent{Ref: b.Ref, Commit: b.After, Repository: b.Repository.CloneURL}
	switch p {
	case GitHub:
		push.Pusher = first(b.Sender.Login, b.Pusher.Name)
	case Gitea:
		push.Pusher = first(b.Pusher.Login, b.Pusher.Username, b.Sender.Login)
	case GitLab:
		push.Pusher, push.Repository = b.UserUsername, b.Project.GitHTTPURL
		push.Commit = first(b.CheckoutSHA, b.After)
	}
	if b.Deleted || strings.Trim(push.Commit, "0") == "" || !strings.HasPrefix(push.Ref, "refs/heads/") {
		return PushEvent{}, ErrNotAPush
	}
	if !commitRE.MatchString(push.Commit) {
		errs.Add("after", "must be a full commit hash, got %q", push.Commit)
	}
	if len(push.Ref) > 256 || strings.ContainsAny(push.Ref, " \t\r\n\x00") {
		errs.Add("ref", "must be a branch ref")
	}
	errs.CheckUserName("pusher", strings.ToLower(push.Pusher))
	push.Pusher = strings.ToLower(push.Pusher)
	return push, errs.Err()
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
