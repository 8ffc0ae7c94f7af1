package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/podlog"
	"berth.dev/berth/internal/resource"
)

// Bounds on log searches running at once: per user, and on the server.
const (
	MaxLogSearchesPerUser = 4
	MaxLogSearches        = 64
)

var errTooManyLogSearches = &httpError{status: http.StatusTooManyRequests, code: i18n.LogSearchTooMany, retryAfter: 5 * time.Second,
	cause: errors.New("too many log searches at once")}

func (a *API) registerLogs() {
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}/logs",
		Summary: "Search the logs of the application's pods (all, one version's, or one pod's) by substring or regular expression " +
			"and time; follow=true streams matching lines as server-sent events (event: line)",
		Query:    []string{"version", "pod", "since", "until", "tail", "grep", "regexp", "ignoreCase", "follow", "limit"},
		Response: "LogSearchResult", Events: true}, a.searchLogs)
}

func (a *API) searchLogs(w http.ResponseWriter, r *http.Request) error {
	k := deploy.Key{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"), Application: r.PathValue("app"), Environment: r.PathValue("environment")}
	scope := authz.ProjectScope(k.Tenant, k.Project)
	if err := a.authorize(r, authz.LogRead, scope); err != nil {
		a.auditDenied(r, authz.LogRead, scope) // logs hold customers' data: a refused read is audited too
		return err
	}
	q, err := logQuery(r, a.clock.Now())
	if err != nil {
		return err
	}
	user := a.caller(r).User
	if !a.logSearches.take(user) {
		return errTooManyLogSearches
	}
	defer a.logSearches.give(user)
	if q.Follow {
		return a.followLogs(w, r, k, q)
	}
	out := apitypes.LogSearchResult{Lines: []podlog.Line{}}
	res, err := a.p.AppLogs(r.Context(), a.caller(r), k, q, func(l podlog.Line) error {
		out.Lines = append(out.Lines, l)
		return nil
	})
	if err != nil {
		return err
	}
	out.Pods, out.Truncated = res.Pods, res.Truncated
	return writeJSON(w, http.StatusOK, out)
}

// followLogs streams lines as server-sent events once the search is
// authorised and audited; a failure before the first line is an ordinary
// HTTP error.
func (a *API) followLogs(w http.ResponseWriter, r *http.Request, k deploy.Key, q podlog.Query) error {
	var rc *http.ResponseController // set once the stream has begun
	_, err := a.p.AppLogs(r.Context(), a.caller(r), k, q, func(l podlog.Line) error {
		if rc == nil {
			rc = startEventStream(w)
		}
		return sendEvent(w, rc, "line", l)
	})
	if rc != nil {
		return nil // the stream ended: by the client, or with every pod's log
	}
	if err != nil && r.Context().Err() == nil {
		return err
	}
	return startEventStream(w).Flush() // no line matched: an empty stream
}

// logQuery reads a search from the query string: since and until as RFC
// 3339 times or durations before now ("15m").
func logQuery(r *http.Request, now time.Time) (podlog.Query, error) {
	v := r.URL.Query()
	var errs resource.Errors
	q := podlog.Query{Version: v.Get("version"), Pod: v.Get("pod"), Grep: v.Get("grep")}
	when := func(name string) time.Time {
		s := v.Get(name)
		if s == "" {
			return time.Time{}
		}
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			return now.Add(-d)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			errs.Add(name, "must be an RFC 3339 time or a duration before now (15m), got %q", s)
		}
		return t
	}
	q.Since, q.Until = when("since"), when("until")
	number := func(name string) int {
		s := v.Get(name)
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs.Add(name, "must be a whole number, got %q", s)
		}
		return n
	}
	q.Tail, q.Limit = number("tail"), number("limit")
	flag := func(name string) bool {
		s := strings.ToLower(v.Get(name))
		if s != "" && s != "true" && s != "false" {
			errs.Add(name, "must be true or false, got %q", v.Get(name))
		}
		return s == "true"
	}
	q.Regexp, q.IgnoreCase, q.Follow = flag("regexp"), flag("ignoreCase"), flag("follow")
	if q.Version != "" {
		errs.CheckLen("version", q.Version, 63)
	}
	if q.Pod != "" {
		errs.CheckLen("pod", q.Pod, 253)
	}
	if _, err := podlog.Check(q); err != nil {
		var ve *resource.ValidationError
		if !errors.As(err, &ve) {
			return q, err
		}
		for _, f := range ve.Fields {
			errs.Add(f.Path, "%s", f.Reason)
		}
	}
	return q, errs.Err()
}
