package resource

import (
	"regexp"
)

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// CheckName records an error at path unless name is a DNS-1123 label:
// lowercase letters, digits and '-', starting and ending alphanumeric,
// at most 63 characters.
func (e *Errors) CheckName(path, name string) {
	switch {
	case name == "":
		e.Add(path, "must not be empty")
	case len(name) > 63:
		e.Add(path, "must be at most 63 characters, got %d", len(name))
	case !dns1123Label.MatchString(name):
		e.Add(path, "must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit), got %q", name)
	}
}

// IsName reports whether name is a DNS-1123 label.
func IsName(name string) bool {
	return name != "" && len(name) <= 63 && dns1123Label.MatchString(name)
}

// CheckNonNegative records an error at path when v < 0.
func (e *Errors) CheckNonNegative(path string, v int64) {
	if v < 0 {
		e.Add(path, "must not be negative, got %d", v)
	}
}

// CheckLen records an error at path when s is longer than max bytes.
func (e *Errors) CheckLen(path, s string, max int) {
	if len(s) > max {
		e.Add(path, "must be at most %d characters, got %d", max, len(s))
	}
}

var userName = regexp.MustCompile(`^[a-z0-9]([-._a-z0-9]*[a-z0-9])?$`)

// CheckUserName records an error at path unless name is a user name:
// lowercase letters, digits, '-', '.' and '_', starting and ending
// alphanumeric, at most 64 characters ("zhang.san", "ops_bot").
func (e *Errors) CheckUserName(path, name string) {
	switch {
	case name == "":
		e.Add(path, "must not be empty")
	case len(name) > 64:
		e.Add(path, "must be at most 64 characters, got %d", len(name))
	case !userName.MatchString(name):
		e.Add(path, "must be lowercase letters, digits, '-', '.' or '_', starting and ending with a letter or digit, got %q", name)
	}
}
