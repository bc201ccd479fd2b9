package bump

import "errors"

// Sentinels of bump's own refusals; test them with errors.Is. Errors of
// the parts (gitsrc, artifacts, reconcile) keep their own sentinels.
var (
	// ErrConflict: between the read and the push, another writer changed
	// the values this bump changes. Nothing was pushed.
	ErrConflict = errors.New("another writer changed the same values")
	// ErrImmutable: the version already exists, in the file or its recent
	// history, with other artifacts (or a repo file with other bytes). A
	// released version is immutable: publish a new version.
	ErrImmutable = errors.New("a released version is immutable")
)

// UsageError is a mistake in what the command was told (flags, their
// combination, the local files they name, a version or path that breaks
// the rules): the command line must change. reconciler bump exits 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usage(err error) error { return &UsageError{Err: err} }
