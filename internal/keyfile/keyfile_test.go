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
	// The file is ours: owned by a user other than root, or by root when
	// the test runs as root (then it is handed to another user first).
	if os.Getuid() == 0 {
		if err := os.Chown(path, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	for _, mode := range []os.FileMode{0o640, 0o440, 0o604, 0o660, 0o644} {
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

// TestReadAcceptsRootsFileReadableByItsGroup: Kubernetes mounts a Secret
// for a pod running as a user other than root as root's file, mode 0440,
// group the pod's fsGroup; root granted that group, so it is no leak.
func TestReadAcceptsRootsFileReadableByItsGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		perm      os.FileMode
		rootOwned bool
		want      bool
	}{
		{"the owner's alone", 0o600, false, true},
		{"read-only for the owner", 0o400, false, true},
		{"readable by the group of a user's file", 0o640, false, false},
		{"root's, readable by its group (a Secret volume with fsGroup)", 0o440, true, true},
		{"root's, read-write for root and readable by its group", 0o640, true, true},
		{"root's, writable by its group", 0o660, true, false},
		{"root's, executable by its group", 0o650, true, false},
		{"root's, readable by others", 0o444, true, false},
		{"root's, the owner's alone", 0o600, true, true},
	}
	for _, tt := range tests {
		if got := private(tt.perm, tt.rootOwned); got != tt.want {
			t.Errorf("%s: private(%04o, root=%v) = %v, want %v", tt.name, tt.perm, tt.rootOwned, got, tt.want)
		}
	}
	// A real file: root's where the test runs as root (CI), else the
	// test user's, which must then be refused.
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte("secret"), 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o440); err != nil {
		t.Fatal(err)
	}
	_, err := Read(path)
	if root := os.Getuid() == 0; root != (err == nil) {
		t.Errorf("mode 0440, owned by root %v: Read err = %v", root, err)
	}
}
