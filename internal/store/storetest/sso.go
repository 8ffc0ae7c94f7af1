package storetest

import (
	"errors"
	"slices"
	"testing"

	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
)

// testSSORecords: group bindings are created, listed by name and by
// provider, updated only at their version and deleted; an sso link is
// written at its version and goes with its user.
func testSSORecords(t *testing.T, h *harness) {
	ctx := t.Context()
	bs := []sso.GroupBinding{
		{Name: "b-ops", Provider: "corp", Group: "cn=ops", Role: tenancy.Operator, ResourceVersion: 1},
		{Name: "a-devs", Provider: "corp", Group: "cn=devs", Role: tenancy.Developer, ResourceVersion: 1},
		{Name: "c-idp", Provider: "idp", Group: "devs", Role: tenancy.Viewer, ResourceVersion: 1},
	}
	h.tx(t, func(tx platform.Tx) error {
		for _, b := range bs {
			if err := tx.CreateGroupBinding(ctx, b); err != nil {
				return err
			}
		}
		if err := tx.CreateGroupBinding(ctx, bs[0]); !errors.Is(err, resource.ErrAlreadyExists) {
			t.Errorf("duplicate binding = %v, want ErrAlreadyExists", err)
		}
		return nil
	})
	h.view(t, func(tx platform.Tx) error {
		all, err := tx.ListGroupBindings(ctx, "", 10)
		if err != nil {
			return err
		}
		if got := names(all); !slices.Equal(got, []string{"a-devs", "b-ops", "c-idp"}) {
			t.Errorf("list = %v, want by name", got)
		}
		corp, err := tx.GroupBindingsOf(ctx, "corp")
		if got := names(corp); !slices.Equal(got, []string{"a-devs", "b-ops"}) {
			t.Errorf("bindings of corp = %v", got)
		}
		return err
	})
	h.tx(t, func(tx platform.Tx) error {
		b := bs[0]
		b.Group, b.ResourceVersion = "cn=operators", 2
		if err := tx.UpdateGroupBinding(ctx, b, 1); err != nil {
			return err
		}
		if err := tx.UpdateGroupBinding(ctx, b, 1); !errors.Is(err, resource.ErrConflict) {
			t.Errorf("stale update = %v, want ErrConflict", err)
		}
		return tx.DeleteGroupBinding(ctx, "c-idp", 1)
	})
	h.tx(t, func(tx platform.Tx) error {
		if err := tx.CreateUser(ctx, identity.UserRecord{User: identity.User{Name: "erin", ResourceVersion: 1}}); err != nil {
			return err
		}
		l := sso.Link{User: "erin", Provider: "corp", Subject: "uid=erin", ResourceVersion: 1,
			Grants: []sso.Grant{{Role: tenancy.Viewer, Binding: "a-devs"}}}
		if err := tx.PutLink(ctx, l, 0); err != nil {
			return err
		}
		l.ResourceVersion = 2
		if err := tx.PutLink(ctx, l, 1); err != nil {
			return err
		}
		if err := tx.PutLink(ctx, l, 1); !errors.Is(err, resource.ErrConflict) {
			t.Errorf("stale link = %v, want ErrConflict", err)
		}
		got, err := tx.GetLink(ctx, "erin")
		if err != nil || got.ResourceVersion != 2 || len(got.Grants) != 1 {
			t.Errorf("link = %+v, %v", got, err)
		}
		return tx.DeleteUser(ctx, "erin", 0)
	})
	h.view(t, func(tx platform.Tx) error {
		if _, err := tx.GetLink(ctx, "erin"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("link of a deleted user = %v, want ErrNotFound", err)
		}
		return nil
	})
}

func names(bs []sso.GroupBinding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Name
	}
	return out
}

// testSSOFlows: a sign-in in progress is stored under the hash of its
// state, taken once by the browser holding that state for its provider
// before it expires; a CLI sign-in's code is redeemed once, and only with
// the verifier whose challenge began it.
func testSSOFlows(t *testing.T, h *harness) {
	ctx := t.Context()
	begin := func(loopback, challenge string) (state string, p sso.Pending) {
		t.Helper()
		h.tx(t, func(tx platform.Tx) (err error) {
			state, p, err = h.p.SSO.Begin(ctx, tx, "idp", loopback, challenge)
			return err
		})
		return state, p
	}
	resume := func(provider, state, cookie string) (p sso.Pending, err error) {
		err = h.p.DB.InTx(ctx, func(tx platform.Tx) (err error) {
			p, err = h.p.SSO.Resume(ctx, tx, provider, state, cookie)
			return err
		})
		return p, err
	}
	state, p := begin("", "")
	if state == p.Nonce || p.Nonce == p.Verifier || len(p.Verifier) < 43 || len(state) < 43 {
		t.Fatalf("state, nonce and verifier must be distinct random values of 32 bytes: %q %+v", state, p)
	}
	h.view(t, func(tx platform.Tx) error {
		var n int
		err := h.st.DB().QueryRowContext(ctx, h.st.Rebind("SELECT COUNT(*) FROM sso_flows WHERE skey = ? OR body LIKE ?"), state, "%"+state+"%").Scan(&n)
		if err == nil && n != 0 {
			t.Errorf("the database holds the state itself (%d rows)", n)
		}
		return err
	})
	if _, err := resume("idp", state, "another-cookie"); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("resumed with another browser's cookie: %v", err)
	}
	if _, err := resume("other", state, state); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("resumed for another provider: %v", err)
	}
	// A refused attempt changes nothing: the browser that began it still can.
	if got, err := resume("idp", state, state); err != nil || got.Nonce != p.Nonce {
		t.Errorf("Resume after a refused attempt = %+v, %v", got, err)
	}
	late, _ := begin("", "")
	h.clock.Advance(sso.FlowTTL)
	if _, err := resume("idp", late, late); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("resumed after it expired: %v", err)
	}
	ok, want := begin("", "")
	got, err := resume("idp", ok, ok)
	if err != nil || got.Nonce != want.Nonce || got.Verifier != want.Verifier {
		t.Fatalf("Resume = %+v, %v; want %+v", got, err, want)
	}
	if _, err := resume("idp", ok, ok); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("resumed twice: %v", err)
	}

	// A CLI sign-in: the loopback address and challenge are checked...
	err = h.p.DB.InTx(ctx, func(tx platform.Tx) error {
		_, _, err := h.p.SSO.Begin(ctx, tx, "idp", "http://evil.example:8080/cb", "short")
		return err
	})
	var ve *resource.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 || ve.Fields[0].Path != "cli" || ve.Fields[1].Path != "challenge" {
		t.Fatalf("a remote loopback and a bad challenge = %v, want field errors at cli and challenge", err)
	}
	// ...kept through the browser's round trip, and granted a code.
	verifier := "the-cli-verifier-only-the-cli-knows-0123456789"
	cli, _ := begin("http://127.0.0.1:41234/callback", sso.Challenge(verifier))
	pend, err := resume("idp", cli, cli)
	if err != nil || pend.Loopback != "http://127.0.0.1:41234/callback" || pend.Challenge != sso.Challenge(verifier) {
		t.Fatalf("Resume of a CLI sign-in = %+v, %v", pend, err)
	}
	grant := func() (code string) {
		t.Helper()
		h.tx(t, func(tx platform.Tx) (err error) {
			code, err = h.p.SSO.Grant(ctx, tx, pend, "alice")
			return err
		})
		return code
	}
	redeem := func(code, verifier string) (p sso.Pending, err error) {
		var refused error
		err = h.p.DB.InTx(ctx, func(tx platform.Tx) (err error) {
			p, err = h.p.SSO.TakeGrant(ctx, tx, code)
			if err == nil {
				refused = p.Verify(verifier)
			}
			return err
		})
		return p, errors.Join(err, refused)
	}
	code := grant()
	if _, err := redeem(code, "a-guessed-verifier"); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("redeemed with the wrong verifier: %v", err)
	}
	if _, err := redeem(code, verifier); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("redeemed after a wrong verifier spent the code: %v", err)
	}
	if _, err := resume("idp", code, code); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("a code resumed as a browser sign-in: %v", err)
	}
	code = grant()
	h.clock.Advance(sso.GrantTTL)
	if _, err := redeem(code, verifier); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("redeemed after it expired: %v", err)
	}
	code = grant()
	if g, err := redeem(code, verifier); err != nil || g.User != "alice" || g.Provider != "idp" {
		t.Fatalf("Redeem = %+v, %v", g, err)
	}
	if _, err := redeem(code, verifier); !errors.Is(err, resource.ErrUnauthenticated) {
		t.Errorf("redeemed twice: %v", err)
	}
}
