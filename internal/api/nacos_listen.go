package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// Bounds of the Nacos long-polling listener.
const (
	// MaxParkedPerCaller is how many long-polls one user may hold open.
	MaxParkedPerCaller = 256
	// MaxParked is how many long-polls the server holds open in all.
	MaxParked = 20000
	// MaxLongPoll caps the Long-Pulling-Timeout a client asks for.
	MaxLongPoll = 120 * time.Second
)

// listenLine is one entry of Listening-Configs: the key and the MD5 the
// client holds.
type listenLine struct {
	key configcenter.Key
	md5 string
	raw string // "dataId\x02group[\x02tenant]", as the client wrote it
}

// parseListening reads Listening-Configs: entries separated by \x01, each
// dataId\x02group\x02md5[\x02tenant] (the Java client's format).
func parseListening(s string) ([]listenLine, error) {
	var out []listenLine
	for _, entry := range strings.Split(s, "\x01") {
		if entry == "" {
			continue
		}
		f := strings.Split(entry, "\x02")
		if len(f) != 3 && len(f) != 4 {
			return nil, listeningError("entry %d has %d fields, want dataId, group, md5 and tenant", len(out)+1, len(f))
		}
		ns, raw := "", f[0]+"\x02"+f[1]
		if len(f) == 4 {
			ns, raw = f[3], raw+"\x02"+f[3]
		}
		k, err := nacosKeyOf(f[0], f[1], ns, "Listening-Configs")
		if err != nil {
			return nil, err
		}
		out = append(out, listenLine{key: k, md5: f[2], raw: raw})
		if len(out) > configcenter.MaxWatchKeys {
			return nil, listeningError("must list at most %d items", configcenter.MaxWatchKeys)
		}
	}
	return out, nil
}

func listeningError(format string, args ...any) error {
	var errs resource.Errors
	errs.Add("Listening-Configs", format, args...)
	return errs.Err()
}

// nacosListen is the 1.x long-polling listener: it answers at once with
// the items whose MD5 differs from the client's, or holds the request
// until one changes or Long-Pulling-Timeout (less half a second, as Nacos)
// passes, and then answers the changed ones (maybe none).
func (a *API) nacosListen(w http.ResponseWriter, r *http.Request) error {
	c, err := a.nacosRequestCaller(r)
	if err != nil {
		return err
	}
	lines, err := parseListening(r.FormValue("Listening-Configs"))
	if err != nil {
		return err
	}
	client := configcenter.Client{IP: a.sourceIP(r)}
	changed, err := a.changedLines(r, c, client, lines)
	if err != nil {
		return err
	}
	timeout, _ := strconv.Atoi(r.Header.Get("Long-Pulling-Timeout"))
	if len(changed) > 0 || timeout <= 0 || r.Header.Get("Long-Pulling-Timeout-No-Hangup") == "true" || a.watch == nil {
		return writeChanged(w, changed)
	}
	if !a.parked.take(c.User) {
		return &httpError{status: http.StatusTooManyRequests, code: i18n.TooManyRequests, retryAfter: time.Second,
			cause: fmt.Errorf("%s holds %d long-polls already", c.User, MaxParkedPerCaller)}
	}
	defer a.parked.give(c.User)
	x := a.watch.NewWatcher()
	defer x.Close()
	for _, l := range lines {
		x.Listen(l.key)
	}
	// A change committed between the first read and Listen is caught here.
	if changed, err = a.changedLines(r, c, client, lines); err != nil || len(changed) > 0 {
		if err != nil {
			return err
		}
		return writeChanged(w, changed)
	}
	hold := min(time.Duration(timeout)*time.Millisecond-500*time.Millisecond, MaxLongPoll)
	timer := time.NewTimer(max(hold, 0))
	defer timer.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-timer.C:
			return writeChanged(w, nil)
		case <-x.C:
			x.Take()
			if changed, err = a.changedLines(r, c, client, lines); err != nil || len(changed) > 0 {
				if err != nil {
					return err
				}
				return writeChanged(w, changed)
			}
		}
	}
}

// changedLines returns the lines whose MD5 differs from what the client
// is served now ("" for an item that does not exist).
func (a *API) changedLines(r *http.Request, c platform.Caller, client configcenter.Client, lines []listenLine) ([]listenLine, error) {
	keys := make([]configcenter.Key, len(lines))
	for i, l := range lines {
		keys[i] = l.key
	}
	served, err := a.p.ServeConfigs(r.Context(), c, keys, client)
	if err != nil {
		return nil, err
	}
	var out []listenLine
	for i, l := range lines {
		if served[i].MD5 != l.md5 {
			out = append(out, l)
		}
	}
	return out, nil
}

// writeChanged answers the changed keys as Nacos does:
// URL-encoded "dataId\x02group[\x02tenant]\x01" per key.
func writeChanged(w http.ResponseWriter, changed []listenLine) error {
	var b strings.Builder
	for _, l := range changed {
		b.WriteString(l.raw)
		b.WriteString("\x01")
	}
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Cache-Control", "no-cache,no-store")
	_, err := w.Write([]byte(url.QueryEscape(b.String())))
	return err
}
