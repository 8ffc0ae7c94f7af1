package storetest

import (
	"testing"
	"time"

	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func testIdentity(t *testing.T, h *harness) {
	ctx := t.Context()
	ids := h.p.Identity
	h.tx(t, func(tx platform.Tx) error {
		_, err := ids.CreateUser(ctx, tx, h.admin, identity.User{Name: "bob", Email: "bob@bank.example"}, "correct horse battery")
		return err
	})
	var body string
	if err := h.st.DB().QueryRowContext(ctx, h.st.Rebind("SELECT body FROM users WHERE name = ?"), "bob").Scan(&body); err != nil {
		t.Fatal(err)
	}
	if !contains(body, "$argon2id$") || contains(body, "correct horse") {
		t.Fatalf("stored user: %s", body)
	}

	err := h.p.Do(ctx, h.admin, auditEventLogin("bob"), func(tx platform.Tx) error {
		_, _, err := ids.Login(ctx, tx, h.admin, "bob", "wrong password!!")
		return err
	})
	wantErr(t, err, resource.ErrUnauthenticated)

	var secret string
	h.tx(t, func(tx platform.Tx) (err error) {
		_, secret, err = ids.Login(ctx, tx, h.admin, "bob", "correct horse battery")
		return err
	})
	var tokSecret string
	var tok identity.Token
	h.tx(t, func(tx platform.Tx) (err error) {
		tok, tokSecret, err = ids.CreateToken(ctx, tx, h.admin, "bob", "laptop", 24*time.Hour)
		return err
	})

	h.view(t, func(tx platform.Tx) error {
		u, _ := must2[identity.User, identity.Session](t)(ids.AuthenticateSession(ctx, tx, secret))
		diff(t, "session user", u.Name, "bob")
		u, _ = must2[identity.User, identity.Token](t)(ids.AuthenticateToken(ctx, tx, tokSecret))
		diff(t, "token user", u.Name, "bob")
		_, _, err := ids.AuthenticateToken(ctx, tx, tokSecret+"x")
		wantErr(t, err, resource.ErrUnauthenticated)
		recs := auditRecords(t, h, tx)
		var actions []string
		for _, r := range recs {
			actions = append(actions, r.Action+":"+string(r.Outcome))
		}
		diff(t, "audited", actions, []string{"user.create:success", "user.login:denied", "user.login:success", "token.create:success"})
		return nil
	})
	var count int
	if err := h.st.DB().QueryRowContext(ctx, h.st.Rebind("SELECT count(*) FROM tokens WHERE body LIKE ? OR secret_hash = ?"), "%"+tokSecret+"%", tokSecret).Scan(&count); err != nil {
		t.Fatal(err)
	}
	diff(t, "token secret stored in clear", count, 0)

	h.clock.Advance(13 * time.Hour) // the session (12h) has expired, the token (24h) has not
	h.view(t, func(tx platform.Tx) error {
		_, _, err := ids.AuthenticateSession(ctx, tx, secret)
		wantErr(t, err, resource.ErrUnauthenticated)
		_, _, err = ids.AuthenticateToken(ctx, tx, tokSecret)
		return err
	})
	h.tx(t, func(tx platform.Tx) error {
		n, err := ids.PruneSessions(ctx, tx)
		diff(t, "expired sessions pruned", n, int64(1))
		return err
	})
	h.tx(t, func(tx platform.Tx) error { return ids.RevokeToken(ctx, tx, h.admin, "bob", tok.ID) })
	h.view(t, func(tx platform.Tx) error {
		_, _, err := ids.AuthenticateToken(ctx, tx, tokSecret)
		wantErr(t, err, resource.ErrUnauthenticated)
		page := must[resource.Page[identity.Token]](t)(ids.ListTokens(ctx, tx, "bob", resource.ListOptions{}))
		diff(t, "revoked at", page.Items[0].RevokedAt, T0.Add(13*time.Hour))
		return nil
	})
	// a new password ends the console sessions
	h.tx(t, func(tx platform.Tx) (err error) {
		_, secret, err = ids.Login(ctx, tx, h.admin, "bob", "correct horse battery")
		return err
	})
	h.tx(t, func(tx platform.Tx) error { return ids.SetPassword(ctx, tx, h.admin, "bob", "a brand new passphrase") })
	h.view(t, func(tx platform.Tx) error {
		_, _, err := ids.AuthenticateSession(ctx, tx, secret)
		wantErr(t, err, resource.ErrUnauthenticated)
		return nil
	})
	// a disabled user's fresh token stops working
	h.tx(t, func(tx platform.Tx) (err error) {
		_, tokSecret, err = ids.CreateToken(ctx, tx, h.admin, "bob", "ci", 0)
		return err
	})
	h.tx(t, func(tx platform.Tx) error {
		u := must[identity.User](t)(ids.GetUser(ctx, tx, "bob"))
		u.Disabled = true
		_, err := ids.UpdateUser(ctx, tx, h.admin, u)
		return err
	})
	h.view(t, func(tx platform.Tx) error {
		_, _, err := ids.AuthenticateToken(ctx, tx, tokSecret)
		wantErr(t, err, resource.ErrUnauthenticated)
		return nil
	})
}

func testBootstrap(t *testing.T, h *harness) {
	ctx := t.Context()
	pw, created, err := h.p.Bootstrap(ctx, "")
	if err != nil || !created || len(pw) < 32 {
		t.Fatalf("first bootstrap: %q %v %v", pw, created, err)
	}
	_, created, err = h.p.Bootstrap(ctx, "")
	if err != nil || created {
		t.Fatalf("second bootstrap: created=%v err=%v", created, err)
	}
	h.view(t, func(tx platform.Tx) error {
		u := must[identity.User](t)(h.p.Identity.Authenticate(ctx, tx, "admin", pw))
		diff(t, "admin", u.Name, "admin")
		ms := must[[]tenancy.Member](t)(h.p.Tenancy.MembershipsOf(ctx, tx, "admin"))
		diff(t, "admin role", ms[0].Role, tenancy.PlatformAdmin)
		return nil
	})
}
