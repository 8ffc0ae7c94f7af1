package alertcmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/kind"
)

// TestReceiversShowWhereTheySend: a chat receiver by its redacted URL, an
// email receiver by its SMTP server (default port) and recipients.
func TestReceiversShowWhereTheySend(t *testing.T) {
	t.Parallel()
	chat := apitypes.AlertReceiver{Kind: "wecom", URL: "https://qyapi.weixin.qq.com/…"}
	if got := destination(chat); got != "https://qyapi.weixin.qq.com/…" {
		t.Errorf("wecom: %q", got)
	}
	mail := apitypes.AlertReceiver{Kind: "email", Email: &apitypes.AlertEmail{Host: "smtp.bank.example", To: []string{"a@bank.example", "b@bank.example"}}}
	if got := destination(mail); got != "smtp://smtp.bank.example:587 → a@bank.example,b@bank.example" {
		t.Errorf("email: %q", got)
	}
}

// TestThePasswordIsReadFromAFileOrStdin: without its line end, and a
// missing file is named by its flag.
func TestThePasswordIsReadFromAFileOrStdin(t *testing.T) {
	t.Parallel()
	c := cmds{&kind.ProjectCommands{Env: cli.Env{Stdin: strings.NewReader("from-stdin\n")}}}
	if pw, err := c.readSecret("-"); err != nil || pw != "from-stdin" {
		t.Errorf("stdin: %q %v", pw, err)
	}
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte("s3cret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pw, err := c.readSecret(f); err != nil || pw != "s3cret" {
		t.Errorf("file: %q %v", pw, err)
	}
	if _, err := c.readSecret(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "--smtp-password-file") {
		t.Errorf("missing file: %v", err)
	}
}
