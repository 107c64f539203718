package handlers

import (
	"net/url"
	"testing"

	"github.com/krimstat/krimstat/cache/httpcache"
)

// TestMediaTypesAgreeWithCacheKey proves that the response cache keys a
// request under the format the handlers would answer with: each media type
// the handlers negotiate, and each format parameter they take, names the
// same format in the cache key.
func TestMediaTypesAgreeWithCacheKey(t *testing.T) {
	for _, m := range mediaFormats {
		got, ok := httpcache.Negotiate(url.Values{}, m.media)
		if !ok || got != m.format {
			t.Errorf("Accept: %s: cache key format got %q (%v), want %q", m.media, got, ok, m.format)
		}
		got, ok = httpcache.Negotiate(url.Values{"format": {m.format}}, "")
		if !ok || got != m.format {
			t.Errorf("format=%s: cache key format got %q (%v), want %q", m.format, got, ok, m.format)
		}
	}
}
