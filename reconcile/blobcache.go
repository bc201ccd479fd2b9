package reconcile

import "context"

// blobCache remembers what a pass derives from a file of the deploy repo
// at a commit: the SHA-256 of a committed binary (bin.path), the
// plaintext of an age-encrypted config (cfg.path ending in .age). A
// commit's files never change (git is content-addressed), so an entry is
// never stale; it spares a no-change poll the work: a 150 MB committed
// binary was read and hashed, and the config decrypted, at every poll.
//
// It is bounded: maxBlobEntries entries, the oldest dropped first, and a
// plaintext is kept only up to maxCachedPlain bytes (a larger one is
// decrypted each pass). A plaintext so kept stays in the agent's memory
// between passes, as it already did during one. Only what succeeded is
// kept: an error is met again at the next pass. The engine's one
// goroutine uses it; it has no lock.
type blobCache struct {
	entries map[blobKey]blobValue
	order   []blobKey // oldest first
}

// blobKey is a repo file at a commit, and what was derived from it.
type blobKey struct {
	rev, path string
	kind      blobKind
}

type blobKind int

const (
	blobDigest blobKind = iota // hex SHA-256 of the file
	blobPlain                  // the decrypted plaintext
)

type blobValue struct {
	digest string
	plain  []byte
}

// Bounds of the cache: a pass derives at most two things (binary, config);
// a rollout's two releases make four.
const (
	maxBlobEntries = 8
	maxCachedPlain = 1 << 20
)

func (c *blobCache) get(k blobKey) (blobValue, bool) {
	v, ok := c.entries[k]
	return v, ok
}

func (c *blobCache) put(k blobKey, v blobValue) {
	if k.kind == blobPlain && len(v.plain) > maxCachedPlain {
		return
	}
	if c.entries == nil {
		c.entries = map[blobKey]blobValue{}
	}
	if _, ok := c.entries[k]; !ok {
		if len(c.order) == maxBlobEntries {
			delete(c.entries, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, k)
	}
	c.entries[k] = v
}

// repoDigest returns the SHA-256 of a committed file, hashed once per
// commit and path.
func (c *blobCache) repoDigest(ctx context.Context, repo Repo, rev, path string) (string, error) {
	k := blobKey{rev: rev, path: path, kind: blobDigest}
	if v, ok := c.get(k); ok {
		return v.digest, nil
	}
	sum, err := hashRepoFile(ctx, repo, rev, path)
	if err == nil {
		c.put(k, blobValue{digest: sum})
	}
	return sum, err
}

// repoPlain returns the plaintext of a committed encrypted config, read
// and decrypted once per commit and path (read gives the file's bytes).
func (c *blobCache) repoPlain(rev, path string, read func() ([]byte, error)) ([]byte, error) {
	k := blobKey{rev: rev, path: path, kind: blobPlain}
	if v, ok := c.get(k); ok {
		return v.plain, nil
	}
	plain, err := read()
	if err == nil {
		c.put(k, blobValue{plain: plain})
	}
	return plain, err
}
