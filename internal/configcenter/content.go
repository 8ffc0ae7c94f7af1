package configcenter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v2"

	"berth.dev/berth/internal/resource"
)

// ParseType reads a declared content type; Nacos' names are accepted
// ("txt", "xml" and "html" are text, "yml" is yaml), "" is text.
func ParseType(s string) (Type, bool) {
	switch strings.ToLower(s) {
	case "", "text", "txt", "xml", "html":
		return Text, true
	case "yaml", "yml":
		return YAML, true
	case "properties":
		return Properties, true
	case "json":
		return JSON, true
	}
	return "", false
}

// CheckContent records an error at path when content is too large, not
// UTF-8, or not valid for its type t; the reason names the line.
func CheckContent(errs *resource.Errors, path string, t Type, content string) {
	if len(content) > MaxContent {
		errs.Add(path, "must be at most %d bytes, got %d", MaxContent, len(content))
		return
	}
	if !utf8.ValidString(content) {
		errs.Add(path, "must be UTF-8 text")
		return
	}
	var err error
	switch t {
	case YAML:
		err = checkYAML(content)
	case JSON:
		err = checkJSON(content)
	case Properties:
		err = checkProperties(content)
	}
	if err != nil {
		errs.Add(path, "is not valid %s: %v", t, err)
	}
}

func checkYAML(content string) error {
	dec := yaml.NewDecoder(strings.NewReader(content))
	for {
		var v any
		err := dec.Decode(&v)
		if err == nil {
			continue
		}
		if err.Error() == "EOF" {
			return nil
		}
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
}

func checkJSON(content string) error {
	dec := json.NewDecoder(strings.NewReader(content))
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if dec.More() {
			off := dec.InputOffset()
			return fmt.Errorf("line %d: unexpected content after the JSON value", lineAt(content, off))
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("line %d: %v", lineAt(content, se.Offset), se)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("line %d: %v", lineAt(content, te.Offset), te)
	}
	return fmt.Errorf("line %d: %v", lineAt(content, int64(len(content))), err)
}

func lineAt(content string, off int64) int {
	off = min(max(off, 0), int64(len(content)))
	return bytes.Count([]byte(content[:off]), []byte("\n")) + 1
}

// checkProperties reads content as java.util.Properties does and refuses
// what it would reject (a malformed \uXXXX escape) and a line with no key.
func checkProperties(content string) error {
	lines := strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for continued(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if line[0] == '=' || line[0] == ':' {
			return fmt.Errorf("line %d: the key is empty", start)
		}
		if err := checkEscapes(line); err != nil {
			return fmt.Errorf("line %d: %v", start, err)
		}
	}
	return nil
}

// continued reports whether line ends in an odd number of backslashes.
func continued(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func checkEscapes(line string) error {
	for i := 0; i < len(line); i++ {
		if line[i] != '\\' || i+1 >= len(line) {
			continue
		}
		i++
		if line[i] != 'u' {
			continue
		}
		if len(line)-i-1 < 4 {
			return errors.New(`malformed \uxxxx escape`)
		}
		for _, c := range line[i+1 : i+5] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return errors.New(`malformed \uxxxx escape`)
			}
		}
		i += 4
	}
	return nil
}
