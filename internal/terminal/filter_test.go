package terminal

import (
	"bytes"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestFiltersAgreeWithTheRealTools runs each filter in Berth and the
// machine's own grep, head, tail and wc on the same input: same output,
// same exit status. grep runs with -E (Berth's patterns are extended
// regular expressions) unless -F is given.
func TestFiltersAgreeWithTheRealTools(t *testing.T) {
	t.Parallel()
	input := []byte("INFO start\nERROR disk full\ninfo lower\nWARN error-ish\nERROR timeout 30s\n\nINFO done\nlast line without newline")
	tests := [][]string{
		{"grep", "ERROR"},
		{"grep", "-i", "error"},
		{"grep", "-v", "INFO"},
		{"grep", "-c", "ERROR"},
		{"grep", "-n", "ERROR|WARN"},
		{"grep", "-F", "error-ish"},
		{"grep", "-w", "error"},
		{"grep", "-x", "INFO done"},
		{"grep", "-m", "1", "ERROR"},
		{"grep", "-e", "-ish"},
		{"grep", "PANIC"},
		{"grep", "-c", "PANIC"},
		{"grep", "line"},
		{"head", "-n", "3"},
		{"head", "-c", "7"},
		{"head"},
		{"tail", "-n", "2"},
		{"tail", "-c", "5"},
		{"tail", "-n", "100"},
		{"wc", "-l"},
		{"wc", "-w"},
		{"wc", "-c"},
		{"wc", "-l", "-w"},
		{"wc"},
	}
	for _, argv := range tests {
		var got bytes.Buffer
		code, err := RunFilter(argv, input, &got)
		if err != nil {
			t.Errorf("%q: %v", argv, err)
			continue
		}
		real := slices.Clone(argv)
		if argv[0] == "grep" && !slices.Contains(argv, "-F") {
			real = append([]string{"grep", "-E"}, argv[1:]...)
		}
		cmd := exec.Command(real[0], real[1:]...)
		cmd.Stdin = bytes.NewReader(input)
		want, err := cmd.Output()
		wantCode := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			wantCode = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%q: %v", real, err)
		}
		// wc pads its counts for stdin as GNU does only with several.
		if argv[0] == "wc" {
			want = []byte(strings.Join(strings.Fields(string(want)), " ") + "\n")
			got = *bytes.NewBufferString(strings.Join(strings.Fields(got.String()), " ") + "\n")
		}
		if got.String() != string(want) || code != wantCode {
			t.Errorf("%q: Berth %q exit %d, %s %q exit %d", argv, got.String(), code, real[0], want, wantCode)
		}
	}
}
