package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"
)

// newLogger returns the slog logger of --log-format: text on a terminal,
// JSON otherwise, so journald and log shippers get one object per line.
func newLogger(format string, w io.Writer, level slog.Level) (*slog.Logger, error) {
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, &usageError{msg: fmt.Sprintf("--log-format %q: %v", format, checkLogFormat(format))}
}

// logFormat is the value of --log-format. It is checked when set, so a bad
// value is reported as where it came from: the flag or RECONCILER_LOG_FORMAT.
type logFormat string

func (f *logFormat) String() string { return string(*f) }
func (f *logFormat) Type() string   { return "string" }

func (f *logFormat) Set(s string) error {
	if err := checkLogFormat(s); err != nil {
		return err
	}
	*f = logFormat(s)
	return nil
}

// checkLogFormat accepts the values of --log-format; "" picks by the output.
func checkLogFormat(s string) error {
	switch s {
	case "", "text", "json":
		return nil
	}
	return errors.New("want text or json")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
