package jsonstat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/krimstat/krimstat/store"
)

// DefaultFetchTimeout bounds a download whose context has no deadline.
const DefaultFetchTimeout = 2 * time.Minute

// Fetch downloads a JSON-stat document from url with client (a client with
// a timeout of DefaultFetchTimeout when nil). A context without a deadline
// gets DefaultFetchTimeout.
//
// Errors: a body larger than maxBytes, a body shorter than its
// Content-Length (a truncated download) and a 4xx status wrap
// store.ErrInvalid; a 404 wraps store.ErrNotFound; a transport error, a
// timeout, a 5xx or 429 status wrap store.ErrUnavailable, as retrying later
// may succeed.
func Fetch(ctx context.Context, client *http.Client, url string, maxBytes int64) ([]byte, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("fetch %s: size limit %d must be positive: %w", url, maxBytes, store.ErrInvalid)
	}
	if client == nil {
		client = &http.Client{Timeout: DefaultFetchTimeout}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFetchTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %v: %w", url, err, store.ErrInvalid)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "krimstat-ingest")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w: %w", url, err, store.ErrUnavailable)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		kind := store.ErrInvalid
		switch {
		case resp.StatusCode == http.StatusNotFound:
			kind = store.ErrNotFound
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			kind = store.ErrUnavailable
		}
		return nil, fmt.Errorf("fetch %s: status %s: %w", url, resp.Status, kind)
	}
	if resp.ContentLength > maxBytes {
		return nil, fmt.Errorf("fetch %s: Content-Length %d exceeds the size limit of %d bytes: %w", url, resp.ContentLength, maxBytes, store.ErrInvalid)
	}
	// Reading one byte past the limit tells "exactly at the limit" from
	// "over it" without buffering an unbounded body.
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("fetch %s: truncated: got %d of %d bytes: %w", url, len(body), resp.ContentLength, store.ErrInvalid)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetch %s: after %d bytes: %w: %w", url, len(body), ctx.Err(), store.ErrUnavailable)
		}
		return nil, fmt.Errorf("fetch %s: after %d bytes: %w: %w", url, len(body), err, store.ErrUnavailable)
	}
	if int64(len(body)) > maxBytes {
		return nil, fmt.Errorf("fetch %s: body exceeds the size limit of %d bytes: %w", url, maxBytes, store.ErrInvalid)
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, fmt.Errorf("fetch %s: truncated: got %d of %d bytes: %w", url, len(body), resp.ContentLength, store.ErrInvalid)
	}
	return body, nil
}
