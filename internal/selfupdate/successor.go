package selfupdate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNotHandedOver is a successor whose old agent stopped (or was killed)
// before it said go: the successor must not run, the service manager
// starts the agent again.
var ErrNotHandedOver = errors.New("the running agent did not hand over (it stopped before saying go)")

// Handover is what a successor inherited from the agent that started it.
type Handover struct {
	ready, goR *os.File
	listen     *os.File
}

// Inherited returns the handover of an agent started as a successor
// (HandoverEnv set), or nil. It takes the variable out of the environment,
// so that nothing this agent starts inherits it, and marks the inherited
// descriptors close-on-exec.
func Inherited() (*Handover, error) {
	spec, ok := os.LookupEnv(HandoverEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(HandoverEnv)
	h := &Handover{}
	for _, part := range strings.Split(spec, ",") {
		name, num, _ := strings.Cut(part, "=")
		fd, err := strconv.Atoi(num)
		if err != nil || fd < 3 {
			return nil, fmt.Errorf("%s=%q: bad descriptor %q", HandoverEnv, spec, part)
		}
		unix.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), "handover-"+name)
		switch name {
		case "ready":
			h.ready = f
		case "go":
			h.goR = f
		case "listen":
			h.listen = f
		default:
			return nil, fmt.Errorf("%s=%q: unknown part %q", HandoverEnv, spec, name)
		}
	}
	if h.ready == nil || h.goR == nil {
		return nil, fmt.Errorf("%s=%q: ready and go are required", HandoverEnv, spec)
	}
	return h, nil
}

// Listener returns the listening socket handed over, or nil, false when
// none was (the old agent listened on nothing).
func (h *Handover) Listener() (net.Listener, bool, error) {
	if h == nil || h.listen == nil {
		return nil, false, nil
	}
	ln, err := net.FileListener(h.listen) // a duplicate: h.listen can go
	h.listen.Close()
	h.listen = nil
	return ln, true, err
}

// Confirm runs poll until it succeeds (a poll that reached the repo and
// verified the commit), waiting 1 s doubling to 5 s between tries, then
// tells the old agent it is ready and waits for its go. The old agent
// bounds all this (--agent-confirm-timeout): it stops this process when
// it takes too long. If the old agent goes away first (stopped, killed),
// Confirm returns ErrNotHandedOver at once, whatever step it is at.
func (h *Handover) Confirm(ctx context.Context, poll func(context.Context) error, log *slog.Logger) error {
	defer h.ready.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	said := make(chan error, 1)
	go func() { // EOF without "go": the old agent is gone
		line := make([]byte, len(goWord))
		_, err := io.ReadFull(h.goR, line)
		h.goR.Close()
		if err == nil && string(line) != goWord {
			err = fmt.Errorf("said %q", line)
		}
		if err != nil {
			err = fmt.Errorf("%w: %v", ErrNotHandedOver, err)
			defer cancel() // stops the confirming poll
		}
		said <- err
	}()
	wait := time.Second
	for {
		err := poll(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return h.gone(said, ctx)
		}
		log.Warn("agent update: confirming poll failed; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return h.gone(said, ctx)
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	if _, err := h.ready.Write([]byte(readyWord)); err != nil {
		return fmt.Errorf("%w: %v", ErrNotHandedOver, err)
	}
	log.Info("agent update: confirmed; waiting for the old agent to hand over")
	select {
	case err := <-said:
		return err
	case <-ctx.Done():
		return h.gone(said, ctx)
	}
}

// gone is the error of a Confirm that ended early: the old agent's
// answer when it came, else ctx's.
func (h *Handover) gone(said chan error, ctx context.Context) error {
	select {
	case err := <-said:
		if err != nil {
			return err
		}
	default:
	}
	return ctx.Err()
}
