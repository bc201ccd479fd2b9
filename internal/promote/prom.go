package promote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Prometheus is what the promoter asks Prometheus; client_golang's v1.API
// has these methods, and Client counts them.
type Prometheus interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
	QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// Client is client_golang's Prometheus HTTP API client, with a deadline
// per query and a count of the queries made.
type Client struct {
	api     v1.API
	timeout time.Duration
	queries atomic.Int64
}

// NewClient returns a client of the Prometheus at address (http or https;
// basic-auth credentials may be in the URL). rt may be nil for Go's
// default transport; each query gets timeout.
func NewClient(address string, rt http.RoundTripper, timeout time.Duration) (*Client, error) {
	cfg := api.Config{Address: address}
	if rt != nil {
		cfg.RoundTripper = rt
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{api: v1.NewAPI(c), timeout: timeout}, nil
}

// Queries is how many queries the client has made.
func (c *Client) Queries() int64 { return c.queries.Load() }

func (c *Client) Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	c.queries.Add(1)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.api.Query(ctx, query, ts, opts...)
}

func (c *Client) QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	c.queries.Add(1)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.api.QueryRange(ctx, query, r, opts...)
}

// ErrUnanswered: Prometheus gave no answer of its own (unreachable, a
// deadline, a proxy's error page): nothing can be decided, and a person
// should know. An answer in which Prometheus refuses the query (bad_data,
// execution, timeout) is not this: for a check, it is missing data.
var ErrUnanswered = errors.New("no answer from Prometheus")

// refused reports an error that is Prometheus's own answer to the query.
func refused(err error) bool {
	var e *v1.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Type {
	case v1.ErrBadData, v1.ErrExec, v1.ErrTimeout, v1.ErrCanceled:
		return true
	}
	return false
}

// queryRange runs a range query that must answer a matrix (every range
// query does). An error that is not Prometheus's own refusal wraps
// ErrUnanswered.
func queryRange(ctx context.Context, p Prometheus, query string, r v1.Range) (model.Matrix, error) {
	v, _, _, err := p.QueryRange(ctx, query, r)
	if err != nil {
		if refused(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrUnanswered, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("%w: a range query answered a %s, not a matrix", ErrUnanswered, v.Type())
	}
	return m, nil
}

// promString quotes s as a PromQL string literal (Go's escapes are
// PromQL's).
func promString(s string) string { return strconv.Quote(s) }
