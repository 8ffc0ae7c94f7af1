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
