package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"berth.dev/berth/internal/kube"
)

// ModuleFile returns the path of the file rel inside the Go module mod at
// the version the main module requires (from the module cache, downloaded
// if needed), so tests can use the files upstream modules ship, such as
// their CRDs.
func ModuleFile(t testing.TB, mod, rel string) string {
	t.Helper()
	dir, err := ModuleDir(mod)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, filepath.FromSlash(rel))
}

// ModuleDir returns the directory of the Go module mod at the version the
// main module requires, downloading it if needed.
func ModuleDir(mod string) (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("go mod download %s: %w\n%s%s", mod, err, out, ee.Stderr)
		}
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory in %s (%v)", mod, out, err)
	}
	return info.Dir, nil
}

// InstallCRDs installs the CustomResourceDefinitions of the YAML files
// with kube.InstallCRDs and waits until they are established; a failure
// fails t. Installing the same CRDs again is a no-op, so tests sharing the
// cluster may each call it.
func (c *Cluster) InstallCRDs(t testing.TB, files ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names, err := kube.InstallCRDs(ctx, c.RESTConfig(), files...)
	if err != nil {
		t.Fatal(err)
	}
	return names
}
