package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ComponentsEnv names the environment variable that points at the directory
// of built components.
const ComponentsEnv = "BERTH_COMPONENTS_DIR"

// FindComponents returns the directory holding the component binaries: the
// one named by BERTH_COMPONENTS_DIR, or else the one build/components/build.sh
// of the Berth source tree containing dir or this executable prints,
// building the components first if this machine has not yet. Build progress
// goes to progress.
func FindComponents(ctx context.Context, getenv func(string) string, dir string, progress io.Writer) (string, error) {
	if d := getenv(ComponentsEnv); d != "" {
		return d, nil
	}
	script, err := findBuildScript(dir)
	if err != nil {
		// A berth binary built in the source tree (bin/berth) finds it too.
		if self, exeErr := os.Executable(); exeErr == nil {
			script, err = findBuildScript(filepath.Dir(self))
		}
	}
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Stdout, cmd.Stderr = &out, progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build components with %s: %w", script, err)
	}
	return strings.TrimSpace(out.String()), nil
}

func findBuildScript(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		script := filepath.Join(dir, "build", "components", "build.sh")
		if _, err := os.Stat(script); err == nil {
			return script, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no components: set " + ComponentsEnv + " or run from the Berth source tree (make components)")
		}
		dir = parent
	}
}
