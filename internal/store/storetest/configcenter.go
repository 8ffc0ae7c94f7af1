package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
)

var (
	appYAML = configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "DEFAULT_GROUP", DataID: "red-auth.yaml"}
	v8080   = "server:\n  port: 8080\n"
	v9090   = "server:\n  port: 9090\n"
	// The MD5s md5sum prints for v8080 and v9090.
	md5of8080 = "91075f386cc8d68966da957728fb5369"
	md5of9090 = "6fc04b0398ddbe9637c760a4382aa929"
)

// configFixture makes acme/payments with environments test and prod, and
// callers bound at the project: a developer, a second developer, a
// release manager and a viewer.
func (h *harness) configFixture(t *testing.T) (dev, dev2, rm, viewer platform.Caller) {
	t.Helper()
	h.deployFixture(t)
	pay := authz.Scope{Tenant: "acme", Project: "payments"}
	caller := func(user string, r authz.Role) platform.Caller {
		return platform.Caller{Actor: audit.Actor{User: user}, Bindings: []authz.Binding{{Role: r, Scope: pay}}}
	}
	return caller("dora", authz.Developer), caller("dan", authz.Developer), caller("rita", authz.ReleaseManager), caller("vera", authz.Viewer)
}

func (h *harness) publish(t *testing.T, c platform.Caller, ch configcenter.Change) (configcenter.Revision, error) {
	t.Helper()
	var r configcenter.Revision
	err := h.p.Do(t.Context(), c.Actor, audit.Event{Action: "config.publish", Target: ch.Path()}, func(tx platform.Tx) (err error) {
		r, err = h.p.PublishConfig(t.Context(), tx, c, ch)
		return err
	})
	return r, err
}

func (h *harness) configOp(t *testing.T, c platform.Caller, fn func(platform.Tx) (configcenter.Revision, error)) (configcenter.Revision, error) {
	t.Helper()
	var r configcenter.Revision
	err := h.p.Do(t.Context(), c.Actor, audit.Event{Action: "config.change", Target: appYAML.Path()}, func(tx platform.Tx) (err error) {
		r, err = fn(tx)
		return err
	})
	return r, err
}

func (h *harness) served(t *testing.T, c platform.Caller, k configcenter.Key, client configcenter.Client) (configcenter.Served, error) {
	t.Helper()
	return h.p.ServeConfig(t.Context(), c, k, client)
}

func (h *harness) configActions(t *testing.T) []string {
	t.Helper()
	var out []string
	h.view(t, func(tx platform.Tx) error {
		for _, r := range auditRecords(t, h, tx) {
			if strings.HasPrefix(r.Action, "config.") {
				out = append(out, r.Action+" "+string(r.Outcome))
			}
		}
		return nil
	})
	return out
}

// testConfigLifecycle: publish, publish again, history, diff, rollback as
// a new revision, delete keeping the history; each audited.
func testConfigLifecycle(t *testing.T, h *harness) {
	ctx := t.Context()
	dev, _, _, _ := h.configFixture(t)
	r1 := must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: appYAML, Type: configcenter.YAML, Content: v8080, Comment: "first", Ticket: "CHG-1"}))
	r2 := must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: appYAML, Content: v9090, CasMD5: md5of8080}))
	if r1.Number != 1 || r2.Number != 2 || r1.MD5 != md5of8080 || r2.MD5 != md5of9090 || r1.Author != "dora" || r1.Ticket != "CHG-1" {
		t.Fatalf("revisions = %+v / %+v", r1, r2)
	}
	if _, err := h.publish(t, dev, configcenter.Change{Key: appYAML, Content: v8080, CasMD5: md5of8080}); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("publish with a stale md5 = %v, want ErrConflict", err)
	}
	s := must[configcenter.Served](t)(h.served(t, dev, appYAML, configcenter.Client{}))
	if s.Content != v9090 || s.MD5 != md5of9090 || s.Revision != 2 || s.Type != configcenter.YAML {
		t.Errorf("served = %+v, want revision 2", s)
	}
	h.view(t, func(tx platform.Tx) error {
		hist, err := h.p.ConfigHistory(ctx, tx, dev, appYAML, 0, 10)
		if err != nil {
			return err
		}
		if len(hist) != 2 || hist[0].Number != 2 || hist[1].Number != 1 || hist[0].Content != "" {
			t.Errorf("history = %+v, want 2 then 1 without content", hist)
		}
		d, err := h.p.ConfigDiff(ctx, tx, dev, appYAML, 1, 2)
		want := []configcenter.Line{{Op: " ", Text: "server:"}, {Op: "-", Text: "  port: 8080"}, {Op: "+", Text: "  port: 9090"}}
		diff(t, "diff 1..2", d, want)
		return err
	})
	r3 := must[configcenter.Revision](t)(h.configOp(t, dev, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.RollbackConfig(ctx, tx, dev, appYAML, 1, "back", "CHG-2")
	}))
	if r3.Number != 3 || r3.Op != configcenter.OpRollback || r3.From != 1 || r3.MD5 != md5of8080 {
		t.Errorf("rollback = %+v, want revision 3 with revision 1's content", r3)
	}
	must[configcenter.Revision](t)(h.configOp(t, dev, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.RemoveConfig(ctx, tx, dev, appYAML, "gone", "")
	}))
	if _, err := h.served(t, dev, appYAML, configcenter.Client{}); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("served after delete = %v, want ErrNotFound", err)
	}
	h.view(t, func(tx platform.Tx) error {
		hist, err := h.p.ConfigHistory(ctx, tx, dev, appYAML, 3, 10)
		if len(hist) != 2 || hist[0].Number != 2 {
			t.Errorf("history before 3 = %+v, want 2 and 1", hist)
		}
		return err
	})
	want := []string{"config.publish success", "config.publish success", "config.publish failure", "config.rollback success", "config.delete success"}
	diff(t, "config audit actions", h.configActions(t), want)
}

// testConfigSecretSealed: a secret item's content is sealed at rest, never
// listed nor audited, and read only by who may read secrets.
func testConfigSecretSealed(t *testing.T, h *harness) {
	ctx := t.Context()
	dev, _, _, viewer := h.configFixture(t)
	const plain = "password=hunter2-s3cret\n"
	k := appYAML
	k.DataID = "db.properties"
	must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: k, Type: configcenter.Properties, Secret: true, Content: plain}))
	must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: k, Content: "password=other\n"}))
	for _, q := range []string{"SELECT body FROM config_items", "SELECT body FROM config_revisions", "SELECT summary FROM audit_records"} {
		rows, err := h.st.DB().QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var body string
			if err := rows.Scan(&body); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(body, "hunter2") || strings.Contains(body, "password=other") {
				t.Errorf("%s holds the secret in the clear: %s", q, body)
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Fatal(err)
		}
	}
	if s := must[configcenter.Served](t)(h.served(t, dev, k, configcenter.Client{})); s.Content != "password=other\n" {
		t.Errorf("developer is served %q", s.Content)
	}
	if _, err := h.served(t, viewer, k, configcenter.Client{}); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("viewer served a secret: %v, want ErrForbidden", err)
	}
	h.view(t, func(tx platform.Tx) error {
		it, redacted, err := h.p.ConfigItem(ctx, tx, viewer, k)
		if err != nil || !redacted || it.Content != "" {
			t.Errorf("viewer reads %q (redacted %v, %v)", it.Content, redacted, err)
		}
		page, err := h.p.ConfigItems(ctx, tx, dev, k.Env(), resource.ListOptions{})
		if err != nil || len(page.Items) != 1 || page.Items[0].Content != "" || page.Items[0].Sealed != nil {
			t.Errorf("list = %+v, %v: want one item without content", page.Items, err)
		}
		if _, err := h.p.ConfigRevision(ctx, tx, viewer, k, 1); !errors.Is(err, resource.ErrForbidden) {
			t.Errorf("viewer reads a secret revision: %v", err)
		}
		r, err := h.p.ConfigRevision(ctx, tx, dev, k, 1)
		if r.Content != plain {
			t.Errorf("revision 1 = %q, want the first secret", r.Content)
		}
		return err
	})

	// A seal key rotation re-seals every secret content: the new key opens
	// them, the old one no longer does.
	p2, s2 := h.platformWith(t, 2)
	h.view(t, func(tx platform.Tx) error {
		if _, err := p2.Config.CheckSealed(ctx, tx); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("a new key opens the secrets before the rotation: %v", err)
		}
		return nil
	})
	h.tx(t, func(tx platform.Tx) error {
		n, err := h.p.Config.Reseal(ctx, tx, s2)
		diff(t, "re-sealed contents", n, 3) // the current content and both revisions
		return err
	})
	h.view(t, func(tx platform.Tx) error {
		r, err := p2.ConfigRevision(ctx, tx, dev, k, 1)
		if r.Content != plain {
			t.Errorf("after rotation revision 1 = %q", r.Content)
		}
		if _, err := h.p.Config.CheckSealed(ctx, tx); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("the old key still opens the secrets: %v", err)
		}
		return err
	})
}

// testConfigFourEyes: where the environment requires an approval a change
// is proposed, its author cannot approve it, another person makes it
// current; a Nacos-style direct publish is refused there.
func testConfigFourEyes(t *testing.T, h *harness) {
	ctx := t.Context()
	dev, _, rm, _ := h.configFixture(t)
	h.tx(t, func(tx platform.Tx) error {
		env, err := tx.GetEnvironment(ctx, "acme", "payments", "prod")
		if err != nil {
			return err
		}
		env.RequiredApprovals = 1
		_, err = h.p.Tenancy.UpdateEnvironment(ctx, tx, h.admin, env)
		return err
	})
	k := appYAML
	k.Environment = "prod"
	r := must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: k, Type: configcenter.YAML, Content: v8080}))
	if r.State != configcenter.Proposed {
		t.Fatalf("state = %s, want proposed", r.State)
	}
	if _, err := h.served(t, dev, k, configcenter.Client{}); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("a proposal is served before approval: %v", err)
	}
	_, err := h.configOp(t, dev, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.PublishConfigNow(ctx, tx, dev, configcenter.Change{Key: k, Content: v9090})
	})
	var refused *resource.RefusedError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "requires 1 approvals") {
		t.Errorf("direct publish in prod = %v, want refused naming the approvals", err)
	}
	_, err = h.configOp(t, dev, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.ApproveConfig(ctx, tx, dev, k, r.Number)
	})
	if !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("developer approves = %v, want ErrForbidden (no config:approve)", err)
	}
	selfApprover := platform.Caller{Actor: audit.Actor{User: "dora"}, Bindings: rm.Bindings}
	_, err = h.configOp(t, selfApprover, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.ApproveConfig(ctx, tx, selfApprover, k, r.Number)
	})
	if !errors.As(err, &refused) || !refused.Forbidden {
		t.Errorf("author approves = %v, want refused (four eyes)", err)
	}
	a := must[configcenter.Revision](t)(h.configOp(t, rm, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.ApproveConfig(ctx, tx, rm, k, r.Number)
	}))
	if a.State != configcenter.Published || !slices.Equal(a.Approvals, []string{"rita"}) {
		t.Errorf("approved = %+v", a)
	}
	if s := must[configcenter.Served](t)(h.served(t, dev, k, configcenter.Client{})); s.Content != v8080 {
		t.Errorf("served after approval = %q", s.Content)
	}
}

// testConfigGray: a gray revision is served to its cohort only, then
// promoted; another is aborted.
func testConfigGray(t *testing.T, h *harness) {
	ctx := t.Context()
	dev, _, _, _ := h.configFixture(t)
	must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: appYAML, Type: configcenter.YAML, Content: v8080}))
	cohort := &configcenter.Cohort{IPs: []string{"10.1.0.7"}, Labels: map[string]string{"zone": "bj-a"}}
	must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: appYAML, Content: v9090, Cohort: cohort}))
	clients := []struct {
		c    configcenter.Client
		want string
	}{
		{configcenter.Client{IP: "10.1.0.7"}, v9090},
		{configcenter.Client{IP: "10.1.0.8", Labels: map[string]string{"zone": "bj-a", "app": "x"}}, v9090},
		{configcenter.Client{IP: "10.1.0.8", Labels: map[string]string{"zone": "bj-b"}}, v8080},
		{configcenter.Client{IP: "10.1.0.9"}, v8080},
	}
	for _, c := range clients {
		if s := must[configcenter.Served](t)(h.served(t, dev, appYAML, c.c)); s.Content != c.want {
			t.Errorf("client %+v is served %q, want %q", c.c, s.Content, c.want)
		}
	}
	p := must[configcenter.Revision](t)(h.configOp(t, dev, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.PromoteConfigGray(ctx, tx, dev, appYAML)
	}))
	if s := must[configcenter.Served](t)(h.served(t, dev, appYAML, configcenter.Client{IP: "10.1.0.9"})); s.Content != v9090 || s.Revision != p.Number {
		t.Errorf("after promotion everyone gets %+v", s)
	}
	must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: appYAML, Content: v8080, Cohort: cohort}))
	must[configcenter.Revision](t)(h.configOp(t, dev, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.AbortConfigGray(ctx, tx, dev, appYAML)
	}))
	if s := must[configcenter.Served](t)(h.served(t, dev, appYAML, configcenter.Client{IP: "10.1.0.7"})); s.Content != v9090 {
		t.Errorf("after abort the cohort gets %q, want the current content", s.Content)
	}

	// A cohort of a version's pods and of org units named as people name
	// them: the tenant's org directory turns names into codes.
	units, err := gray.ParseCSV(strings.NewReader("level,code,name,parent\nregion,north,North region,\nbranch,0101,Haidian branch,north\n"))
	if err != nil {
		t.Fatal(err)
	}
	h.tx(t, func(tx platform.Tx) error { return h.p.Gray.ImportOrg(ctx, tx, h.admin, "acme", units) })
	_, err = h.publish(t, dev, configcenter.Change{Key: appYAML, Content: v8080, Cohort: &configcenter.Cohort{Branches: []string{"Chaoyang branch"}}})
	if ve := (*resource.ValidationError)(nil); !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Path != "cohort.branches[0]" {
		t.Errorf("a cohort naming an unknown branch: %v, want one error naming cohort.branches[0]", err)
	}
	cohort = &configcenter.Cohort{Versions: []configcenter.AppVersion{{App: "red-auth", Version: "v2"}}, Branches: []string{"Haidian branch"}}
	must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: appYAML, Content: v8080, Cohort: cohort}))
	for _, c := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{configcenter.LabelApp: "red-auth", configcenter.LabelVersion: "v2"}, v8080},
		{map[string]string{configcenter.LabelApp: "red-auth", configcenter.LabelVersion: "v1"}, v9090},
		{map[string]string{configcenter.LabelBranch: "0101"}, v8080},
		{map[string]string{configcenter.LabelBranch: "Haidian branch"}, v9090},
	} {
		if s := must[configcenter.Served](t)(h.served(t, dev, appYAML, configcenter.Client{IP: "10.1.0.9", Labels: c.labels})); s.Content != c.want {
			t.Errorf("a client labelled %v is served %q, want %q", c.labels, s.Content, c.want)
		}
	}
}

// testConfigServedFresh: what clients are served is read from memory
// after a first read, yet every committed change is served at once, and a
// read that began before a commit and ended after it does not leave the
// older content behind.
func testConfigServedFresh(t *testing.T, h *harness) {
	ctx := t.Context()
	dev, _, _, _ := h.configFixture(t)
	anyone := configcenter.Client{IP: "10.1.0.9"}
	for i, content := range []string{v8080, v9090, v8080} {
		r := must[configcenter.Revision](t)(h.publish(t, dev, configcenter.Change{Key: appYAML, Type: configcenter.YAML, Content: content}))
		for range 2 { // the second answer comes from memory
			if s := must[configcenter.Served](t)(h.served(t, dev, appYAML, anyone)); s.Revision != r.Number || s.Content != content {
				t.Fatalf("after change %d (revision %d) served revision %d %q", i, r.Number, s.Revision, s.Content)
			}
		}
	}
	// A read whose transaction saw the current revision, with a change
	// committed before the read ends.
	var newer configcenter.Revision
	view := func(f func(configcenter.Store) error) error {
		return h.st.View(ctx, func(tx platform.Tx) error {
			if err := f(tx); err != nil {
				return err
			}
			var err error
			newer, err = h.publish(t, dev, configcenter.Change{Key: appYAML, Content: v9090})
			return err
		})
	}
	h.p.Config.Forget(appYAML)
	old := must[[]configcenter.Served](t)(h.p.Config.ServeAll(ctx, view, []configcenter.Key{appYAML}, anyone))
	if old[0].Content != v8080 || newer.Number != old[0].Revision+1 {
		t.Fatalf("the racing read saw %+v and published %+v", old[0], newer)
	}
	if s := must[configcenter.Served](t)(h.served(t, dev, appYAML, anyone)); s.Revision != newer.Number || s.Content != v9090 {
		t.Errorf("after a change committed during a read, served revision %d %q, want %d", s.Revision, s.Content, newer.Number)
	}
	// Deleting an item stops serving it at once.
	must[configcenter.Revision](t)(h.configOp(t, dev, func(tx platform.Tx) (configcenter.Revision, error) {
		return h.p.RemoveConfig(ctx, tx, dev, appYAML, "", "")
	}))
	if _, err := h.served(t, dev, appYAML, anyone); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("a deleted item is served: %v", err)
	}
}

// testConfigBadInput: invalid content for its type is refused naming the
// line, oversized content with the limit, a writer without permission is
// refused and audited; nothing changes.
func testConfigBadInput(t *testing.T, h *harness) {
	dev, _, _, viewer := h.configFixture(t)
	cases := []struct {
		name string
		ch   configcenter.Change
		want string
	}{
		{"bad yaml", configcenter.Change{Key: appYAML, Type: configcenter.YAML, Content: "a: 1\nb:\n\t- x\n"}, "line 3"},
		{"bad json", configcenter.Change{Key: appYAML, Type: configcenter.JSON, Content: "{\n  \"a\": 1,\n  \"b\": }\n"}, "line 3"},
		{"bad properties", configcenter.Change{Key: appYAML, Type: configcenter.Properties, Content: "a=1\n\nb=\\u12G4\n"}, "line 3"},
		{"oversized", configcenter.Change{Key: appYAML, Content: strings.Repeat("x", 256<<10+1)}, "at most 262144 bytes"},
		{"bad data id", configcenter.Change{Key: configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "G", DataID: "a/b"}}, "dataId"},
		{"unknown type", configcenter.Change{Key: appYAML, Type: "toml", Content: "a = 1"}, "type"},
	}
	for _, c := range cases {
		_, err := h.publish(t, dev, c.ch)
		var ve *resource.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a field error naming %q", c.name, err, c.want)
		}
	}
	if _, err := h.publish(t, viewer, configcenter.Change{Key: appYAML, Content: "x"}); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("viewer publishes: %v, want ErrForbidden", err)
	}
	acts := h.configActions(t)
	if len(acts) != len(cases)+1 || acts[len(acts)-1] != "config.publish denied" {
		t.Errorf("audit = %v, want %d failures then a denial", acts, len(cases))
	}
	h.view(t, func(tx platform.Tx) error {
		n, err := tx.LastConfigRevision(t.Context(), appYAML)
		if n != 0 {
			t.Errorf("a refused change left revision %d", n)
		}
		return err
	})
}
