package configcenter

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/resource"
)

func TestMD5IsNacos(t *testing.T) {
	t.Parallel()
	// md5sum of the empty input and of "hello\n".
	for in, want := range map[string]string{"": "d41d8cd98f00b204e9800998ecf8427e", "hello\n": "b1946ac92492d2347c6235b4d2611184"} {
		if got := MD5(in); got != want {
			t.Errorf("MD5(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestNamespaceNamesOneEnvironment(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ns   string
		want Env
		ok   bool
	}{
		{"acme.payments.prod", Env{"acme", "payments", "prod"}, true},
		{"public", Env{}, false},
		{"", Env{}, false},
		{"acme.payments", Env{}, false},
		{"acme.payments.prod.x", Env{}, false},
		{"Acme.payments.prod", Env{}, false},
	}
	for _, c := range cases {
		got, ok := ParseNamespace(c.ns)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseNamespace(%q) = %v, %v; want %v, %v", c.ns, got, ok, c.want, c.ok)
		}
	}
}

func TestContentIsCheckedByItsType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		t       Type
		content string
		want    string // "" for valid
	}{
		{"text takes anything", Text, "a: [\n", ""},
		{"valid yaml", YAML, "a:\n  b: 1\n---\nc: 2\n", ""},
		{"a tab in yaml", YAML, "a: 1\nb:\n\t- x\n", "line 3"},
		{"valid json", JSON, "{\"a\": [1, 2]}\n", ""},
		{"a missing value in json", JSON, "{\n  \"a\": 1,\n  \"b\": }\n", "line 3"},
		{"two json values", JSON, "{}\n{}\n", "line 2"},
		{"valid properties with continuations", Properties, "# c\na=1\nb = x \\\n  y\nc:\\u00e9\n", ""},
		{"a key-less properties line", Properties, "a=1\n=2\n", "line 2"},
		{"a short unicode escape", Properties, "a=1\nb=\\u12\n", "line 2"},
		{"not UTF-8", Text, "\xff", "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var errs resource.Errors
			CheckContent(&errs, "content", c.t, c.content)
			err := errs.Err()
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
}

func TestDiffLines(t *testing.T) {
	t.Parallel()
	a := "a\nb\nc\nd\n"
	b := "a\nc\nd\ne\n"
	want := []Line{{" ", "a"}, {"-", "b"}, {" ", "c"}, {" ", "d"}, {"+", "e"}}
	if d := cmp.Diff(want, DiffLines(a, b)); d != "" {
		t.Errorf("diff (-want +got):\n%s", d)
	}
}

func TestCohort(t *testing.T) {
	t.Parallel()
	co := Cohort{IPs: []string{"10.0.0.1"}, Labels: map[string]string{"zone": "a", "app": "x"}}
	cases := []struct {
		c    Client
		want bool
	}{
		{Client{IP: "10.0.0.1"}, true},
		{Client{IP: "10.0.0.2", Labels: map[string]string{"zone": "a", "app": "x", "more": "1"}}, true},
		{Client{IP: "10.0.0.2", Labels: map[string]string{"zone": "a"}}, false},
		{Client{IP: "10.0.0.2"}, false},
	}
	for _, c := range cases {
		if got := co.Includes(c.c); got != c.want {
			t.Errorf("Includes(%+v) = %v, want %v", c.c, got, c.want)
		}
	}
}

func TestCohortOfVersionsAndOrgUnits(t *testing.T) {
	t.Parallel()
	co := Cohort{Versions: []AppVersion{{"pay", "v2"}}, Branches: []string{"B0101"}, Tellers: []string{"T9"}}
	// Labels as the Nacos SDKs send nacos_app_conn_labels=berth.app=pay,… (prefixed app_).
	l := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		labels map[string]string
		want   bool
	}{
		{l("app_berth.app", "pay", "app_berth.version", "v2"), true},
		{l("app_berth.app", "pay", "app_berth.version", "v1"), false},
		{l("app_berth.app", "ledger", "app_berth.version", "v2"), false},
		{l("app_berth.version", "v2"), false},
		{l("berth.app", "pay", "berth.version", "v2"), false}, // not as the SDKs send them
		{l("app_berth.branch", "B0101"), true},
		{l("app_berth.region", "B0101"), false}, // a code at another level
		{l("app_berth.teller", "T9", "app_berth.app", "pay", "app_berth.version", "v1"), true},
		{nil, false},
	}
	for _, c := range cases {
		if got := co.Includes(Client{IP: "10.0.0.2", Labels: c.labels}); got != c.want {
			t.Errorf("Includes(%v) = %v, want %v", c.labels, got, c.want)
		}
	}
}

func FuzzCheckContent(f *testing.F) {
	f.Add("a=1\nb=\\u00e9\n")
	f.Add("a:\n  - b\n")
	f.Add("{\"a\":1}")
	f.Fuzz(func(t *testing.T, s string) {
		for _, ty := range Types() {
			var errs resource.Errors
			CheckContent(&errs, "content", ty, s)
		}
	})
}
