package restart

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// checkHealth asks url once; nil means a 2xx answer.
func checkHealth(ctx context.Context, client *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health check %s: %s", url, resp.Status)
	}
	return nil
}

// poll calls cond every interval until it returns true, ctx ends or cond
// returns an error that is final. A timer, not a sleep: cancellation is
// honoured at once.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		done, err := cond()
		if err != nil || done {
			return err
		}
		t.Reset(interval)
	}
}
