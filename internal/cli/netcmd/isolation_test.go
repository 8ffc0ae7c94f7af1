package netcmd

import (
	"testing"

	"berth.dev/berth/internal/api/apitypes"
)

func TestParseAllow(t *testing.T) {
	for _, c := range []struct {
		in        string
		inProject bool
		want      apitypes.Allow
		bad       bool
	}{
		{"ops/monitor->pay/red-auth", false, apitypes.Allow{From: apitypes.Peer{Tenant: "ops", Project: "monitor"}, To: apitypes.Peer{Project: "pay", Application: "red-auth"}}, false},
		{"ops->pay", false, apitypes.Allow{From: apitypes.Peer{Tenant: "ops"}, To: apitypes.Peer{Project: "pay"}}, false},
		{"ops/p/app->red-auth", true, apitypes.Allow{From: apitypes.Peer{Tenant: "ops", Project: "p", Application: "app"}, To: apitypes.Peer{Application: "red-auth"}}, false},
		{"ops->", true, apitypes.Allow{From: apitypes.Peer{Tenant: "ops"}}, false},
		{"ops->pay/red-auth", true, apitypes.Allow{}, true},
		{"ops", false, apitypes.Allow{}, true},
		{"/x->a", true, apitypes.Allow{}, true},
		{"a/b/c/d->x", true, apitypes.Allow{}, true},
	} {
		got, err := parseAllow(c.in, c.inProject)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("parseAllow(%q, %v) = %+v, %v; want %+v (error %v)", c.in, c.inProject, got, err, c.want, c.bad)
		}
	}
}
