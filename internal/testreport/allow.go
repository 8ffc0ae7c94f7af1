package testreport

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// AllowList names the tests that may skip, each with the reason why. The
// zero value allows nothing.
type AllowList map[string]string

// ParseAllowList reads an allow-list: one test per line, its full name as
// `go test` prints it (TestX or TestX/sub) followed by the reason it may
// skip. Blank lines and lines starting with # are ignored. An entry without
// a reason, or named twice, is an error naming its line.
func ParseAllowList(r io.Reader) (AllowList, error) {
	allowed := AllowList{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := strings.Fields(line)[0]
		reason := strings.TrimSpace(line[len(name):])
		if reason == "" {
			return nil, fmt.Errorf("line %d: %s has no reason: write why it may skip after its name", n, name)
		}
		if _, dup := allowed[name]; dup {
			return nil, fmt.Errorf("line %d: %s is listed twice", n, name)
		}
		allowed[name] = reason
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return allowed, nil
}
