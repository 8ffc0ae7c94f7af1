package store_test

import (
	"context"
	"slices"
	"testing"
)

func TestNotifyReachesEveryReplicaListening(t *testing.T) {
	t.Parallel()
	sts := replicas(t, 2)
	other := replicas(t, 1)[0] // another database (schema): hears nothing of these
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	listen := func(i int, st interface {
		Listen(context.Context, func(string), func(), func(error))
	}) (<-chan string, <-chan struct{}) {
		got, connected := make(chan string, 16), make(chan struct{}, 4)
		go st.Listen(ctx, func(p string) { got <- p }, func() { connected <- struct{}{} }, func(err error) { t.Logf("listener %d: %v", i, err) })
		<-connected
		return got, connected
	}
	gotA, _ := listen(0, sts[0])
	gotB, _ := listen(1, sts[1])
	gotOther, _ := listen(2, other)

	if err := sts[0].Notify(t.Context(), []string{"one", "two", "three"}); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]<-chan string{"sender": gotA, "other replica": gotB} {
		var heard []string
		for range 3 {
			heard = append(heard, <-got)
		}
		if want := []string{"one", "two", "three"}; !slices.Equal(heard, want) {
			t.Errorf("%s heard %q, want %q in order", name, heard, want)
		}
	}
	if err := other.Notify(t.Context(), []string{"elsewhere"}); err != nil {
		t.Fatal(err)
	}
	if p := <-gotOther; p != "elsewhere" {
		t.Errorf("the other database heard %q first, want only its own %q", p, "elsewhere")
	}
}
