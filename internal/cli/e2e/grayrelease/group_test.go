package grayrelease_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestGrayGroupSendsOneCohortToEveryApplication releases a two-application
// order by a gray group through the CLI (`berth gray start --order`): the
// pilot teller reaches the new version of both applications through the
// gateway while everyone else stays on both stable versions; the group's
// abort sends the teller back to both.
func TestGrayGroupSendsOneCohortToEveryApplication(t *testing.T) {
	s, _ := newStack(t)
	ns := strings.TrimPrefix(s.host, "svc.")
	ports := [2]int{freePort(t, hostIP), freePort(t, hostIP)}
	serveVersion(t, hostIP, ports[0], "acct v1")
	serveVersion(t, hostIP, ports[1], "acct v2")
	pp := "/tenants/bank/projects/pay"
	s.must("POST", pp+"/applications", map[string]string{"name": "acct"}, http.StatusCreated)
	for i, v := range []string{"v1", "v2"} {
		s.must("POST", pp+"/applications/acct/versions", map[string]any{"name": v, "image": "registry.local/acct:" + v,
			"tier": "small", "orchestration": map[string]any{"replicas": 1, "ports": []map[string]any{{"name": "http", "containerPort": ports[i]}}}}, http.StatusCreated)
	}
	s.must("PUT", pp+"/environments/dev/deployments/acct", map[string]string{"version": "v1"}, http.StatusOK)
	acct := &stack{t: t, api: s.api, token: s.token, gateway: s.gateway, host: "acct." + ns, config: s.config}
	acct.eventually("acct stable for everyone", map[string]string{}, "acct v1")

	var o struct{ ID, State string }
	if err := json.Unmarshal(s.must("POST", pp+"/releases", map[string]any{"environment": "dev", "title": "svc and acct 2",
		"items": []map[string]string{{"application": "svc", "version": "v2"}, {"application": "acct", "version": "v2"}}}, http.StatusCreated), &o); err != nil {
		t.Fatal(err)
	}
	s.cli(adminPassword+"\n", "login", "--server", strings.TrimSuffix(s.api, "/api/v1"), "--username", "admin", "--password-stdin")
	s.cli("", "context", "set", "-t", "bank", "-p", "pay")
	if out := s.cli("", "gray", "start", "--order", o.ID, "--step", "tellers=T900", "--step", "branches=0101"); !strings.Contains(out, "Graying") {
		t.Fatalf("gray start --order: %s", out)
	}
	teller, other := org("T900", "0202", "south"), org("T003", "0404", "south")
	s.eventually("pilot teller on svc v2", teller, "v2")
	acct.eventually("pilot teller on acct v2", teller, "acct v2")
	s.expect(map[string]string{"teller": "v2", "other": "v1"}, teller, other)
	acct.expect(map[string]string{"teller": "acct v2", "other": "acct v1"}, teller, other)
	if out := s.cli("", "gray", "status", "--order", o.ID); !strings.Contains(out, "Graying") || !strings.Contains(out, "acct") {
		t.Fatalf("gray status --order: %s", out)
	}

	s.cli("", "gray", "abort", "--order", o.ID, "--reason", "group abort drill")
	s.eventually("pilot teller back on svc v1", teller, "v1")
	acct.eventually("pilot teller back on acct v1", teller, "acct v1")
	s.expect(map[string]string{"teller": "v1", "other": "v1"}, teller, other)
	acct.expect(map[string]string{"teller": "acct v1", "other": "acct v1"}, teller, other)
	if err := json.Unmarshal(s.must("GET", pp+"/releases/"+o.ID, nil, http.StatusOK), &o); err != nil || o.State != "Aborted" {
		t.Fatalf("order after the group's abort: %+v %v", o, err)
	}
}
