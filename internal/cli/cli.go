// Package cli holds what every berth command shares: the process's streams
// and environment, injected so commands are testable without a real terminal.
package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
)

// Env is the outside world a command sees. Commands never reach for os.Stdout
// or os.Getenv directly.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// OpenURL shows a web page to the person at the keyboard (berth login
	// --sso); nil when there is no browser to open.
	OpenURL func(ctx context.Context, url string) error
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, OpenURL: OpenBrowser}
}

// OpenBrowser opens url in the desktop's web browser: $BROWSER when set,
// else the system's opener (xdg-open, open, or the Windows shell).
func OpenBrowser(ctx context.Context, url string) error {
	name, args := "xdg-open", []string{url}
	switch {
	case os.Getenv("BROWSER") != "":
		name = os.Getenv("BROWSER")
	case runtime.GOOS == "darwin":
		name = "open"
	case runtime.GOOS == "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", url}
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	return cmd.Start()
}

// Logger returns the text logger commands use for progress on w.
func Logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
