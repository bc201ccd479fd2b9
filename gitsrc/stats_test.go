package gitsrc

import (
	"context"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

func TestStatsCountRemoteCalls(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t)
	r.WriteFile("current.conf", []byte("{}"))
	r.Commit("one")
	src, err := New(Options{URL: r.URL(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ { // one change, then two polls that find nothing new
		head, err := src.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Fetch(ctx, head); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := src.Stats(), (Stats{RefListings: 3, Fetches: 1}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
