package gitrev

// ShortLen is the length of a short revision: 12 hex digits, unique in
// any deploy repo (git's own abbreviation grows from 7 as a repo grows;
// a fixed width keeps columns and log lines comparable).
const ShortLen = 12

// Short is rev cut to ShortLen; a shorter rev (a test's, or "") as is.
func Short(rev string) string {
	if len(rev) > ShortLen {
		return rev[:ShortLen]
	}
	return rev
}
