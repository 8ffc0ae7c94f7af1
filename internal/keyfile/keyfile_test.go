package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRefusesAFileOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k", "key")
	if err := Create(path, []byte("secret")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("created with mode %04o, want 0600", info.Mode().Perm())
	}
	if got, err := Read(path); err != nil || string(got) != "secret" {
		t.Fatalf("Read = %q, %v", got, err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Read(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: got %v, want a refusal naming chmod 600", mode, err)
		}
	}
	if err := Create(path, []byte("other")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over an existing file: got %v, want ErrExist", err)
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read of a missing file: got %v, want ErrNotExist", err)
	}
}
