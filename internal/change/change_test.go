package change_test

import (
	"slices"
	"testing"

	"berth.dev/berth/internal/change"
)

type tx struct{ hooks []func() }

func (t *tx) AfterCommit(f func()) { t.hooks = append(t.hooks, f) }
func (t *tx) commit() {
	for _, f := range t.hooks {
		f()
	}
}

func TestSubscribersHearOnlyTheirKindsInTheOrderTheySubscribed(t *testing.T) {
	b := change.NewBus()
	var heard []string
	b.Subscribe(func(c change.Changed) { heard = append(heard, "gateway:"+c.Key.Name) }, change.GrayPlan)
	b.Subscribe(func(c change.Changed) { heard = append(heard, "gray:"+c.Key.Name) }, change.GrayPlan, change.Deployment)
	b.Subscribe(func(c change.Changed) { heard = append(heard, "release:"+c.Key.Name) }, change.Release)

	b.Publish(change.Changed{Kind: change.GrayPlan, Key: change.Key{Name: "pay"}})
	b.Publish(change.Changed{Kind: change.Deployment, Key: change.Key{Name: "auth"}})
	b.Publish(change.Changed{Kind: change.Isolation})
	b.Publish(change.Changed{Kind: change.Release, Key: change.Key{Name: "r-1"}})

	want := []string{"gateway:pay", "gray:pay", "gray:auth", "release:r-1"}
	if !slices.Equal(heard, want) {
		t.Fatalf("heard %q, want %q", heard, want)
	}
}

func TestAfterCommitPublishesOnlyWhenTheTransactionCommits(t *testing.T) {
	b := change.NewBus()
	var heard int
	b.Subscribe(func(change.Changed) { heard++ }, change.Deployment)

	rolledBack := &tx{}
	b.AfterCommit(rolledBack, change.Changed{Kind: change.Deployment})
	if heard != 0 {
		t.Fatalf("heard %d changes before any commit", heard)
	}
	committed := &tx{}
	b.AfterCommit(committed, change.Changed{Kind: change.Deployment})
	committed.commit()
	if heard != 1 {
		t.Fatalf("heard %d changes after one commit, want 1", heard)
	}
}

func TestANilBusDropsEverything(t *testing.T) {
	var b *change.Bus
	t0 := &tx{}
	b.Publish(change.Changed{Kind: change.Deployment})
	b.AfterCommit(t0, change.Changed{Kind: change.Deployment})
	if len(t0.hooks) != 0 {
		t.Fatalf("a nil bus registered %d commit hooks", len(t0.hooks))
	}
}

func TestSubscribingToAnUnknownKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("subscribing to kind 0 did not panic")
		}
	}()
	change.NewBus().Subscribe(func(change.Changed) {}, change.Kind(0))
}

func TestKindsHaveNames(t *testing.T) {
	for k, want := range map[change.Kind]string{change.Deployment: "deployment", change.GrayPlan: "grayplan",
		change.Release: "release", change.Network: "network", change.Isolation: "isolation", change.Applied: "applied",
		change.Kind(99): "Kind(99)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
