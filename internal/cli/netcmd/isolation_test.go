package netcmd

import "testing"

func TestParseAllow(t *testing.T) {
	for _, c := range []struct {
		in        string
		inProject bool
		want      rule
		bad       bool
	}{
		{"ops/monitor->pay/red-auth", false, rule{From: peer{Tenant: "ops", Project: "monitor"}, To: peer{Project: "pay", Application: "red-auth"}}, false},
		{"ops->pay", false, rule{From: peer{Tenant: "ops"}, To: peer{Project: "pay"}}, false},
		{"ops/p/app->red-auth", true, rule{From: peer{Tenant: "ops", Project: "p", Application: "app"}, To: peer{Application: "red-auth"}}, false},
		{"ops->", true, rule{From: peer{Tenant: "ops"}}, false},
		{"ops->pay/red-auth", true, rule{}, true},
		{"ops", false, rule{}, true},
		{"/x->a", true, rule{}, true},
		{"a/b/c/d->x", true, rule{}, true},
	} {
		got, err := parseAllow(c.in, c.inProject)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("parseAllow(%q, %v) = %+v, %v; want %+v (error %v)", c.in, c.inProject, got, err, c.want, c.bad)
		}
	}
}
