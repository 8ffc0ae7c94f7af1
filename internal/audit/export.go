package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Format is an export format.
type Format string

// Export formats.
const (
	JSONLines Format = "jsonl"
	CSV       Format = "csv"
)

// CSVHeader is the first line of a CSV export.
var CSVHeader = []string{"seq", "time", "actor", "roles", "tenant", "project", "action", "target", "outcome",
	"sourceIP", "requestID", "summary", "prevHash", "hash"}

// Export writes every record matching f to w, oldest first, as JSON lines
// (one Record per line) or CSV (with CSVHeader). Summaries hold no secrets,
// so neither does the export.
func (s *Service) Export(ctx context.Context, st Reader, f Filter, format Format, w io.Writer) error {
	switch format {
	case JSONLines:
		enc := json.NewEncoder(w)
		return s.Each(ctx, st, f, func(r Record) error { return enc.Encode(r) })
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(CSVHeader); err != nil {
			return err
		}
		err := s.Each(ctx, st, f, func(r Record) error {
			return cw.Write([]string{strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339Nano), r.Actor,
				strings.Join(r.Roles, " "), r.Tenant, r.Project, r.Action, r.Target, string(r.Outcome),
				r.SourceIP, r.RequestID, csvSafe(r.Summary), r.PrevHash, r.Hash})
		})
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}
	return fmt.Errorf("export format %q: want jsonl or csv", format)
}

// csvSafe defuses spreadsheet formula injection in free text.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
