package gitsrc_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/reconciler-dev/reconciler/gitsrc"
	"github.com/reconciler-dev/reconciler/gitsrc/gittest"
)

// manyRefs is the deploy repo of the issue: 10,000 refs besides main.
const manyRefs = 10_000

// maxPollBytes bounds the wire bytes (both ways, HTTP headers included) of
// a no-change poll in protocol v2: one POST of a few hundred bytes.
const maxPollBytes = 1000

// bigRepo returns a deploy repo with manyRefs tags besides main.
func bigRepo(t *testing.T) (*gittest.Repo, string) {
	r, c := seedRepo(t)
	r.AddRefs("refs/tags/t", manyRefs)
	return r, c
}

// TestPollBytesHTTP: a no-change poll costs one request of a few hundred
// bytes over protocol v2, with 10 refs and with 10,000; a server that does
// not speak v2 still works, at the cost of its whole advertisement.
func TestPollBytesHTTP(t *testing.T) {
	t.Parallel()
	small, c1 := seedRepo(t)
	big, c2 := bigRepo(t)
	for _, tc := range []struct {
		name      string
		repo      *gittest.Repo
		want      string
		opts      []gittest.ServeOption
		wantBytes func(int64) bool
	}{
		{"v2, 1 ref", small, c1, nil, func(n int64) bool { return n < maxPollBytes }},
		{"v2, 10,000 refs", big, c2, nil, func(n int64) bool { return n < maxPollBytes }},
		{"v0 server, 10,000 refs", big, c2, []gittest.ServeOption{gittest.WithoutV2()}, func(n int64) bool { return n > 500_000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := tc.repo.ServeHTTP(t, tc.opts...)
			s := newSource(t, gitsrc.Options{URL: srv.URL})
			head(t, s) // first contact: learns the capabilities
			before := srv.Stats()
			const polls = 3
			for range polls {
				if got := head(t, s); got != tc.want {
					t.Fatalf("Head = %s, want %s", got, tc.want)
				}
			}
			after := srv.Stats()
			if got := after.Requests - before.Requests; got != polls {
				t.Errorf("%d requests for %d polls, want one each", got, polls)
			}
			if got := after.RefListings - before.RefListings; got != polls {
				t.Errorf("%d ref listings for %d polls, want one each", got, polls)
			}
			perPoll := (after.BytesIn + after.BytesOut - before.BytesIn - before.BytesOut) / polls
			if !tc.wantBytes(perPoll) {
				t.Errorf("%d bytes per poll: not what %s costs", perPoll, tc.name)
			}
			t.Logf("%s: %d bytes per poll", tc.name, perPoll)
		})
	}
}

// TestPollLonePOSTRefused: a server that wants the advertisement before
// every ls-refs still gets it, after the lone POST was refused.
func TestPollLonePOSTRefused(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	srv := r.ServeHTTP(t, gittest.RefuseLonePOST())
	s := newSource(t, gitsrc.Options{URL: srv.URL})
	for i := range 3 {
		if got := head(t, s); got != c1 {
			t.Fatalf("Head %d = %s, want %s", i, got, c1)
		}
	}
	// 2 for the first contact, then 3 per poll: the refused POST, the GET
	// and the POST.
	if got := srv.Stats(); got.Requests != 8 || got.RefListings != 3 || got.Adverts != 3 {
		t.Errorf("stats %+v, want 8 requests, 3 ref listings, 3 advertisements", got)
	}
}

// TestPollAfterIdleClose: a poll after the server closed the kept-alive
// connection still succeeds (net/http does not resend a POST that may
// have been written to a closed connection: the full exchange follows).
func TestPollAfterIdleClose(t *testing.T) {
	t.Parallel()
	r, c1 := seedRepo(t)
	srv := r.ServeHTTP(t)
	s := newSource(t, gitsrc.Options{URL: srv.URL})
	for i := range 5 {
		if got := head(t, s); got != c1 {
			t.Fatalf("Head %d = %s, want %s", i, got, c1)
		}
		srv.DropConnections()
	}
}

// TestResolveV2: a short ref means the branch before the tag, an annotated
// tag peels to its commit, and a ref-prefix match of a longer name is not
// taken for the ref, over every transport and protocol.
func TestResolveV2(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t)
	c1 := r.Commit("one")
	r.Git("branch", "v1")
	c2 := r.Commit("two")
	r.Git("tag", "-a", "-m", "tag v1", "v1")
	r.Git("tag", "-a", "-m", "tag v2", "v2")
	r.Git("branch", "main-old")
	c3 := r.Commit("three")
	r.Git("branch", "-f", "main-old", c1)
	urls := map[string]string{
		"file":        r.URL(),
		"local path":  r.Dir,
		"HTTP v2":     r.ServeHTTP(t).URL,
		"HTTP v0":     r.ServeHTTP(t, gittest.WithoutV2()).URL,
		"HTTP lone 2": r.ServeHTTP(t, gittest.RefuseLonePOST()).URL,
	}
	for name, url := range urls {
		for _, tc := range []struct{ ref, want string }{
			{"main", c3}, {"refs/heads/main", c3}, {"v1", c1}, {"refs/tags/v1", c2}, {"v2", c2}, {"main-old", c1},
		} {
			s := newSource(t, gitsrc.Options{URL: url, Ref: tc.ref})
			for range 2 { // the second poll takes the one-request path
				if got := head(t, s); got != tc.want {
					t.Errorf("%s: Head of %s = %.12s, want %.12s", name, tc.ref, got, tc.want)
				}
			}
		}
	}
}

// TestFetchAfterV2Poll: a change seen by a v2 poll is fetched in v2 too:
// ls-refs for the followed ref and the fetch command, two POSTs of a few
// kilobytes among 10,000 refs (go-git's v0 fetch would receive every ref
// first), into an on-disk cache and into memory, change after change.
func TestFetchAfterV2Poll(t *testing.T) {
	t.Parallel()
	for _, onDisk := range []bool{true, false} {
		r, _ := bigRepo(t)
		srv := r.ServeHTTP(t)
		opts := gitsrc.Options{URL: srv.URL}
		if onDisk {
			opts.CacheDir = cacheDir(t)
		}
		s := newSource(t, opts)
		fetch(t, s, head(t, s))
		for i := 2; i <= 4; i++ {
			r.WriteFile("current.conf", fmt.Appendf(nil, "version %d\n", i))
			r.WriteFile(fmt.Sprintf("blob-%d", i), bytes.Repeat([]byte{byte(i)}, 1000))
			c := r.Commit(fmt.Sprintf("version %d", i))
			if got := head(t, s); got != c {
				t.Fatalf("Head = %.12s, want %.12s", got, c)
			}
			before := srv.Stats()
			if got := fetch(t, s, c); got != c {
				t.Fatalf("Fetch = %.12s, want %.12s", got, c)
			}
			st := srv.Stats()
			if st.Requests-before.Requests != 2 || st.UploadPacks-before.UploadPacks != 1 || st.Adverts != 1 {
				t.Errorf("fetch: stats %+v -> %+v, want 2 requests (ls-refs, fetch), no advertisement since the first", before, st)
			}
			if n := st.BytesIn + st.BytesOut - before.BytesIn - before.BytesOut; n > 10_000 {
				t.Errorf("fetch of one change cost %d bytes, want a few kilobytes", n)
			}
			if got, want := readFile(t, s, c, "current.conf"), fmt.Sprintf("version %d\n", i); got != want {
				t.Fatalf("ReadFile = %q, want %q", got, want)
			}
		}
	}
}

// TestPollOpenSSH: over a real OpenSSH server that accepts GIT_PROTOCOL, a
// no-change poll of a repo with 10,000 refs costs the SSH handshake and a
// few hundred bytes; one that does not accept it speaks v0, which still
// works, at the cost of the whole advertisement. Fetch works over both.
func TestPollOpenSSH(t *testing.T) {
	t.Parallel()
	r, c1 := bigRepo(t)
	key, pub := gittest.NewSSHKey(t)
	for _, tc := range []struct {
		name      string
		acceptEnv bool
		wantBytes func(int64) bool
	}{
		{"AcceptEnv GIT_PROTOCOL", true, func(n int64) bool { return n < 10_000 }},
		{"no AcceptEnv", false, func(n int64) bool { return n > 500_000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := r.ServeOpenSSH(t, pub, tc.acceptEnv)
			kh := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(kh, []byte(srv.KnownHostsLine+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			auth, err := gitsrc.NewAuth(srv.URL, gitsrc.AuthOptions{SSHKeyFile: key, KnownHostsFile: kh})
			if err != nil {
				t.Fatal(err)
			}
			s := newSource(t, gitsrc.Options{URL: srv.URL, Auth: auth})
			before := srv.Stats()
			const polls = 2
			for range polls {
				if got := head(t, s); got != c1 {
					t.Fatalf("Head = %s, want %s", got, c1)
				}
			}
			after := srv.Stats()
			perPoll := (after.BytesIn + after.BytesOut - before.BytesIn - before.BytesOut) / polls
			if !tc.wantBytes(perPoll) || after.Conns-before.Conns != polls {
				t.Errorf("%d connections, %d bytes per poll: not what %s costs", after.Conns-before.Conns, perPoll, tc.name)
			}
			t.Logf("%s: %d bytes per poll", tc.name, perPoll)
			before = srv.Stats()
			if got := fetch(t, s, c1); got != c1 {
				t.Errorf("Fetch = %.12s, want %.12s", got, c1)
			}
			after = srv.Stats()
			n := after.BytesIn + after.BytesOut - before.BytesIn - before.BytesOut
			if !tc.wantBytes(n - 2_000) { // the first fetch: a clone of one small commit
				t.Errorf("first Fetch cost %d bytes: not what %s costs", n, tc.name)
			}
			t.Logf("%s: %d bytes for the first fetch", tc.name, n)
		})
	}
}
