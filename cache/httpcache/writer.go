package httpcache

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

// capture is a gin.ResponseWriter that keeps the response in memory instead
// of sending it, so that the handler below the cache writes as usual and the
// cache decides what to send and keep.
type capture struct {
	gin.ResponseWriter // the real writer, for CloseNotify and Pusher
	header             http.Header
	status             int
	written            bool
	body               bytes.Buffer
}

var _ gin.ResponseWriter = (*capture)(nil)

// The capture starts with a copy of the headers set so far (the request id,
// say), so the handlers below read them as they would without the cache; only
// the headers that belong to the representation are stored.
func newCapture(w gin.ResponseWriter) *capture {
	return &capture{ResponseWriter: w, header: w.Header().Clone(), status: http.StatusOK}
}

func (w *capture) Header() http.Header { return w.header }

// WriteHeader records code unless the response has started, as gin's own
// writer does.
func (w *capture) WriteHeader(code int) {
	if code > 0 && !w.written {
		w.status = code
	}
}

func (w *capture) WriteHeaderNow() { w.written = true }

func (w *capture) Write(b []byte) (int, error) {
	w.written = true
	return w.body.Write(b)
}

func (w *capture) WriteString(s string) (int, error) {
	w.written = true
	return w.body.WriteString(s)
}

func (w *capture) Status() int { return w.status }

func (w *capture) Size() int {
	if !w.written {
		return -1
	}
	return w.body.Len()
}

func (w *capture) Written() bool { return w.written }

// Flush does nothing: the response is sent whole once the handler returns.
func (w *capture) Flush() {}

// Hijack fails: a cached route cannot hand its connection over.
func (w *capture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("httpcache: hijacking a cached response")
}
