// Package keyfile reads and writes secret key files (the seal key, the
// audit anchoring key): a key file must be readable by its owner only, or
// be root's and readable by its group only (as Kubernetes mounts a
// Secret for a non-root pod), and a new one is created with mode 0600 in a
// directory of mode 0700.
package keyfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MaxSize bounds what Read reads: key files are a few hundred bytes.
const MaxSize = 64 << 10

// Read returns the contents of the key file at path. It refuses a file
// that group or others may read or write (fix with chmod 600), except that
// a file owned by root may be readable by its group (mode 0440 or 0640:
// root granted that group, as the kubelet does for a pod's fsGroup on a
// Secret volume, and as PostgreSQL allows for its key files), and one
// larger than MaxSize. A missing file is an error wrapping fs.ErrNotExist.
func Read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s: not a regular file", path)
	}
	if perm := info.Mode().Perm(); !private(perm, ownedByRoot(info)) {
		return nil, fmt.Errorf("key file %s is accessible by group or others (mode %04o): run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("key file %s: larger than %d bytes", path, MaxSize)
	}
	return data, nil
}

// private reports whether a key file of mode perm is closed to others: no
// access for group or others, or, when root owns it, read access for its
// group only.
func private(perm os.FileMode, rootOwned bool) bool {
	if rootOwned {
		return perm&0o037 == 0
	}
	return perm&0o077 == 0
}

// Create writes data to a new file at path with mode 0600, creating its
// directory with mode 0700; it never replaces a file (an error wrapping fs.ErrExist).
func Create(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return nil
}
