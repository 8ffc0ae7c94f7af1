package api

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/podlog"
	"berth.dev/berth/internal/store/storetest"
)

// TestLogSearchAcrossAnApplicationsPods searches, through the API, the
// logs the local cluster's kubelet (kwok) serves for two pods of two
// versions: by substring, by regular expression and time, by version,
// the last lines, a limit; followed as server-sent events; refused for a
// viewer and for a bad pattern (naming the field); each search audited.
func TestLogSearchAcrossAnApplicationsPods(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ctx := t.Context()
	ns := c.Namespace(t)
	reg := c.Registry(t, "c1")
	h := newHarness(t, storetest.SQLite(t), func(o *platform.Options) { o.Logs = kube.PodLogs{Registry: reg} })
	admin := h.token("admin", adminPassword)
	h.webOnCluster(c, admin, ns)
	for _, u := range []struct{ name, role string }{{"dora", "developer"}, {"vera", "viewer"}} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": u.name, "password": "password-of-" + u.name})
		h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/pay/members", map[string]string{"user": u.name, "role": u.role})
	}
	// Every simulated container's log is this file (kwok's ClusterLogs).
	cri := "2026-12-07T09:00:00.000000001Z stdout F INFO started\n" +
		"2026-12-07T09:00:01.000000001Z stdout F ERROR db timeout\n" +
		"2026-12-07T09:00:02.000000001Z stdout F INFO request 1\n" +
		"2026-12-07T09:00:03.000000001Z stderr F ERRX card 4111 refused\n" +
		"2026-12-07T09:00:04.000000001Z stdout F INFO request 2\n"
	if err := os.WriteFile(c.PodLogFile(), []byte(cri), 0o600); err != nil {
		t.Fatal(err)
	}
	runWebPods(t, c, ns, "v1", "v2")
	dora, vera := h.token("dora", "password-of-dora"), h.token("vera", "password-of-vera")
	base := "/tenants/bank/projects/pay/environments/prod/deployments/web/logs"
	search := func(query string) apitypes.LogSearchResult {
		t.Helper()
		var res apitypes.LogSearchResult
		h.must(http.StatusOK, dora, "GET", base+"?"+query, nil).decode(t, &res)
		return res
	}
	brief := func(ls []podlog.Line) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Pod+"/"+l.Version+" "+l.Time.Format("15:04:05")+" "+l.Text)
		}
		return out
	}
	check := func(name string, got apitypes.LogSearchResult, pods int, truncated bool, want ...string) {
		t.Helper()
		if g := brief(got.Lines); strings.Join(g, "\n") != strings.Join(want, "\n") || got.Pods != pods || got.Truncated != truncated {
			t.Errorf("%s: %d pods, truncated %v, lines\n%s\nwant %d pods, truncated %v, lines\n%s", name, got.Pods, got.Truncated,
				strings.Join(g, "\n"), pods, truncated, strings.Join(want, "\n"))
		}
	}
	check("substring", search("grep=ERROR"), 2, false,
		"web-1/v1 09:00:01 ERROR db timeout", "web-2/v2 09:00:01 ERROR db timeout")
	check("regular expression, ignoring case, since a time", search("grep=err(or|x)&regexp=true&ignoreCase=true&since=2026-12-07T09:00:02Z"), 2, false,
		"web-1/v1 09:00:03 ERRX card 4111 refused", "web-2/v2 09:00:03 ERRX card 4111 refused")
	check("one version, until a time", search("version=v2&until=2026-12-07T09:00:01.5Z"), 1, false,
		"web-2/v2 09:00:00 INFO started", "web-2/v2 09:00:01 ERROR db timeout")
	check("the last line of each pod", search("tail=1"), 2, false,
		"web-1/v1 09:00:04 INFO request 2", "web-2/v2 09:00:04 INFO request 2")
	check("a limit keeps the newest", search("pod=web-1&grep=INFO&limit=2"), 1, true,
		"web-1/v1 09:00:02 INFO request 1", "web-1/v1 09:00:04 INFO request 2")

	bad := h.call(dora, "GET", base+"?grep=(&regexp=true", nil)
	if e := bad.errorBody(t); bad.status != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Path != "grep" {
		t.Errorf("a bad regular expression: %d %+v, want 422 naming grep", bad.status, e)
	}
	bad = h.call(dora, "GET", base+"?tail=-1&since=yesterday", nil)
	if e := bad.errorBody(t); bad.status != http.StatusUnprocessableEntity || len(e.Fields) != 2 {
		t.Errorf("a bad tail and since: %d %+v, want 422 naming both", bad.status, e)
	}
	if r := h.call(vera, "GET", base+"?grep=card", nil); r.status != http.StatusForbidden {
		t.Errorf("a viewer searches logs: %d, want 403", r.status)
	}

	req, err := http.NewRequestWithContext(ctx, "GET", h.url+Prefix+base+"?follow=true&grep=INFO&pod=web-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+dora)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("follow: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var followed []podlog.Line
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() { // the local cluster's kubelet does not follow: the stream ends with the file
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var l podlog.Line
			if err := json.Unmarshal([]byte(data), &l); err != nil {
				t.Fatal(err)
			}
			followed = append(followed, l)
		}
	}
	if g := strings.Join(brief(followed), "\n"); g != "web-2/v2 09:00:00 INFO started\nweb-2/v2 09:00:02 INFO request 1\nweb-2/v2 09:00:04 INFO request 2" {
		t.Errorf("followed lines:\n%s", g)
	}

	var recs apitypes.List[audit.Record]
	h.must(http.StatusOK, admin, "GET", "/audit?action=log.read&limit=100", nil).decode(t, &recs)
	var summaries []string
	for _, r := range recs.Items {
		summaries = append(summaries, r.Actor+" "+string(r.Outcome)+": "+r.Summary)
	}
	all := strings.Join(summaries, "\n")
	for _, want := range []string{`dora success: search logs, containing "ERROR"`, `dora success: search logs, version v2, until 2026-12-07T09:00:01Z`,
		`dora success: search logs, pod web-2, containing "INFO", following`, "vera denied"} {
		if !strings.Contains(all, want) {
			t.Errorf("no audit record %q among\n%s", want, all)
		}
	}
}
