package exitcode

import (
	"errors"
	"fmt"
	"io"
)

// Error carries a process exit code through the error chain.
type Error struct {
	Code int
	Err  error // nil: nothing more to print (the command said why)
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Print writes err once to stderr, after "prog: ", and returns the exit
// code: 0 for nil, the Code of an Error in the chain, 1 otherwise.
func Print(prog string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *Error
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, prog+":", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, prog+":", err)
	return 1
}
