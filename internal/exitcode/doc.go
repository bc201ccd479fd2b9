// Package exitcode carries a process exit code through the error chain of
// a command (Error) and turns a command's error into its exit code, printed
// once (Print): the one rule of the reconciler and demo commands.
package exitcode
