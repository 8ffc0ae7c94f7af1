package apitypes

import "berth.dev/berth/internal/podlog"

// LogLine is one log line of one container.
type LogLine = podlog.Line

// How many lines a search answers: unless asked, and at most.
const (
	LogDefaultLimit = podlog.DefaultLimit
	LogMaxLimit     = podlog.MaxLimit
)

// LogSearchResult is the answer of GET .../logs without follow: the newest
// matching lines of every pod searched, oldest first.
type LogSearchResult struct {
	Lines []LogLine `json:"lines"`
	// Pods is how many pods were searched; Truncated says older matching
	// lines were left out (limit).
	Pods      int  `json:"pods"`
	Truncated bool `json:"truncated"`
}
