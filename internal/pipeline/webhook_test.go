package pipeline_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/resource"
)

const (
	secret = "s3cret-of-the-pipeline"
	commit = "0123456789abcdef0123456789abcdef01234567"
)

func hmacHex(body, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

var (
	githubBody = `{"ref":"refs/heads/main","after":"` + commit + `","repository":{"clone_url":"https://git.example/a.git"},"pusher":{"name":"Rob"},"sender":{"login":"Rob"}}`
	giteaBody  = `{"ref":"refs/heads/main","after":"` + commit + `","pusher":{"login":"rob","username":"rob"}}`
	gitlabBody = `{"object_kind":"push","ref":"refs/heads/main","checkout_sha":"` + commit + `","user_username":"rob","project":{"git_http_url":"https://git.example/a.git"}}`
)

func TestVerifyReadsSignedPushesAndRefusesTheRest(t *testing.T) {
	tests := []struct {
		name     string
		provider pipeline.Provider
		h        http.Header
		body     string
		want     error // nil: a push by rob of commit
	}{
		{"a GitHub push signed with the secret", pipeline.GitHub,
			headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "g-1", "X-Hub-Signature-256", "sha256="+hmacHex(githubBody, secret)), githubBody, nil},
		{"a GitHub push signed with another secret", pipeline.GitHub,
			headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "g-1", "X-Hub-Signature-256", "sha256="+hmacHex(githubBody, "other")), githubBody, pipeline.ErrBadSignature},
		{"a GitHub push whose body changed after signing", pipeline.GitHub,
			headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "g-1", "X-Hub-Signature-256", "sha256="+hmacHex(githubBody, secret)), strings.Replace(githubBody, "main", "evil", 1), pipeline.ErrBadSignature},
		{"a GitHub push without a signature", pipeline.GitHub,
			headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "g-1"), githubBody, pipeline.ErrBadSignature},
		{"a GitHub signature without its sha256= prefix", pipeline.GitHub,
			headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "g-1", "X-Hub-Signature-256", hmacHex(githubBody, secret)), githubBody, pipeline.ErrBadSignature},
		{"a signed GitHub ping", pipeline.GitHub,
			headers("X-GitHub-Event", "ping", "X-GitHub-Delivery", "g-1", "X-Hub-Signature-256", "sha256="+hmacHex(githubBody, secret)), githubBody, pipeline.ErrNotAPush},
		{"a Gitea push signed with the secret", pipeline.Gitea,
			headers("X-Gitea-Event", "push", "X-Gitea-Delivery", "t-1", "X-Gitea-Signature", hmacHex(giteaBody, secret)), giteaBody, nil},
		{"a Gitea push carrying GitHub's header only", pipeline.Gitea,
			headers("X-Gitea-Event", "push", "X-Gitea-Delivery", "t-1", "X-Hub-Signature-256", "sha256="+hmacHex(giteaBody, secret)), giteaBody, pipeline.ErrBadSignature},
		{"a GitLab push with the token", pipeline.GitLab,
			headers("X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "l-1", "X-Gitlab-Token", secret), gitlabBody, nil},
		{"a GitLab push with a wrong token", pipeline.GitLab,
			headers("X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "l-1", "X-Gitlab-Token", secret+"x"), gitlabBody, pipeline.ErrBadSignature},
		{"a signed push without a delivery ID", pipeline.GitHub,
			headers("X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256="+hmacHex(githubBody, secret)), githubBody, &resource.ValidationError{}},
		{"a signed branch deletion", pipeline.GitHub,
			headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "g-2", "X-Hub-Signature-256", "sha256="+hmacHex(`{"ref":"refs/heads/x","after":"0000000000000000000000000000000000000000","deleted":true}`, secret)),
			`{"ref":"refs/heads/x","after":"0000000000000000000000000000000000000000","deleted":true}`, pipeline.ErrNotAPush},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pipeline.Verify(tc.provider, tc.h, []byte(tc.body), []byte(secret))
			var ve *resource.ValidationError
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == nil:
				if got.Pusher != "rob" || got.Commit != commit || got.Ref != "refs/heads/main" || got.Delivery == "" {
					t.Errorf("read %+v", got)
				}
			case errors.As(tc.want, &ve):
				if !errors.As(err, &ve) {
					t.Errorf("got %v, want a validation error", err)
				}
			case !errors.Is(err, tc.want):
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if !errors.Is(pipeline.ErrBadSignature, resource.ErrUnauthenticated) {
		t.Error("a bad signature is not an authentication failure (401)")
	}
}

func TestAnEmptySecretVerifiesNothing(t *testing.T) {
	h := headers("X-GitHub-Event", "push", "X-GitHub-Delivery", "g-1", "X-Hub-Signature-256", "sha256="+hmacHex(githubBody, ""))
	if _, err := pipeline.Verify(pipeline.GitHub, h, []byte(githubBody), nil); !errors.Is(err, pipeline.ErrBadSignature) {
		t.Errorf("got %v", err)
	}
	if _, err := pipeline.Verify(pipeline.GitLab, headers("X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", "l", "X-Gitlab-Token", ""), []byte(gitlabBody), nil); !errors.Is(err, pipeline.ErrBadSignature) {
		t.Errorf("gitlab: got %v", err)
	}
}

// FuzzVerify: whatever arrives, Verify never panics, and it accepts a push
// only when the body carries the signature of the secret.
func FuzzVerify(f *testing.F) {
	f.Add(githubBody, "sha256="+hmacHex(githubBody, secret), "push", "g-1")
	f.Add(`{"ref":1}`, "sha256=zz", "push", "")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, body, sig, event, delivery string) {
		h := headers("X-GitHub-Event", event, "X-GitHub-Delivery", delivery, "X-Hub-Signature-256", sig)
		_, err := pipeline.Verify(pipeline.GitHub, h, []byte(body), []byte(secret))
		if err == nil && sig != "sha256="+hmacHex(body, secret) && !strings.EqualFold(sig, "sha256="+hmacHex(body, secret)) {
			t.Fatalf("accepted %q signed %q", body, sig)
		}
	})
}
