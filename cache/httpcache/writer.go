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
	// limit is the most the capture keeps; a body that grows past it is
	// streamed: what was kept and everything after goes to the real writer
	// as it comes, and the response is not stored. A large file is then
	// sent with bounded memory instead of being held whole.
	limit    int
	streamed bool
	size     int
}

var _ gin.ResponseWriter = (*capture)(nil)

// The capture starts with a copy of the headers set so far (the request id,
// say), so the handlers below read them as they would without the cache; only
// the headers that belong to the representation are stored.
func newCapture(w gin.ResponseWriter, limit int) *capture {
	return &capture{ResponseWriter: w, header: w.Header().Clone(), status: http.StatusOK, limit: limit}
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
	w.size += len(b)
	if w.streamed {
		return w.ResponseWriter.Write(b)
	}
	if w.limit > 0 && w.body.Len()+len(b) > w.limit {
		if err := w.stream(); err != nil {
			return 0, err
		}
		return w.ResponseWriter.Write(b)
	}
	return w.body.Write(b)
}

func (w *capture) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// stream starts sending the response as it is written: the headers the
// handler set, the status, and the body kept so far.
func (w *capture) stream() error {
	w.streamed = true
	h := w.ResponseWriter.Header()
	for name, values := range w.header {
		h[name] = values
	}
	delete(h, "Content-Length")
	w.ResponseWriter.WriteHeader(w.status)
	_, err := w.ResponseWriter.Write(w.body.Bytes())
	w.body = bytes.Buffer{}
	return err
}

func (w *capture) Status() int { return w.status }

func (w *capture) Size() int {
	if !w.written {
		return -1
	}
	return w.size
}

func (w *capture) Written() bool { return w.written }

// Flush does nothing while the response is kept (it is sent whole once the
// handler returns), and flushes the real writer once it streams.
func (w *capture) Flush() {
	if w.streamed {
		w.ResponseWriter.Flush()
	}
}

// Hijack fails: a cached route cannot hand its connection over.
func (w *capture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("httpcache: hijacking a cached response")
}
