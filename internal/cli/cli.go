// Package cli holds what every berth command shares: the process's streams
// and environment, injected so commands are testable without a real terminal.
package cli

import (
	"io"
	"log/slog"
	"os"
)

// Env is the outside world a command sees. Commands never reach for os.Stdout
// or os.Getenv directly.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// OSEnv returns the Env of the running process.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// Logger returns the text logger commands use for progress on w.
func Logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
