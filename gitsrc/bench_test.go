package gitsrc_test

import (
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
)

// BenchmarkHeadNoChange is the cost of one poll of an unchanged repo over
// smart HTTP: one ref listing.
func BenchmarkHeadNoChange(b *testing.B) {
	r := gittestRepo(b)
	srv := r.ServeHTTP(b)
	s, err := gitsrc.New(gitsrc.Options{URL: srv.URL, CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Head(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetchNoChange is Fetch of a commit already cached: no network.
func BenchmarkFetchNoChange(b *testing.B) {
	r := gittestRepo(b)
	srv := r.ServeHTTP(b)
	s, err := gitsrc.New(gitsrc.Options{URL: srv.URL, CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	want, err := s.Fetch(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Fetch(b.Context(), want); err != nil {
			b.Fatal(err)
		}
	}
	if st := srv.Stats(); st.UploadPacks != 1 {
		b.Fatalf("upload-packs = %d, want 1", st.UploadPacks)
	}
}
