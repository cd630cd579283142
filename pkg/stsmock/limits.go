package stsmock

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// A request body must keep arriving: like Apache's mod_reqtimeout
// (body=20,MinRate=500), the first bytes must come within bodyGrace and
// each byte received extends the deadline by 1/bodyMinRate seconds. A
// client dripping one byte every few seconds is cut off after bodyGrace;
// a large upload at any usable speed is not. Variables so tests can
// shorten them.
var (
	bodyGrace   = 20 * time.Second
	bodyMinRate = 500 // bytes per second
)

// minRateBody enforces the body deadline through the connection's read
// deadline, and lifts it once the body has been read, so the handler's own
// work is not timed.
type minRateBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	deadline time.Time
}

// limitBodyRate returns a shallow copy of r whose body keeps the minimum
// rate. The server's own request keeps its original body: net/http looks
// at its type after the handler to decide whether an unread remainder is
// too big to drain (then it closes the connection at once) or small enough
// to read first.
func limitBodyRate(w http.ResponseWriter, r *http.Request) *http.Request {
	if r.Body == nil || r.Body == http.NoBody {
		return r
	}
	b := &minRateBody{ReadCloser: r.Body, rc: http.NewResponseController(w), deadline: time.Now().Add(bodyGrace)}
	_ = b.rc.SetReadDeadline(b.deadline)
	r = r.WithContext(r.Context())
	r.Body = b
	return r
}

func (b *minRateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.deadline = b.deadline.Add(time.Duration(n) * time.Second / time.Duration(bodyMinRate))
		_ = b.rc.SetReadDeadline(b.deadline)
	}
	switch {
	case errors.Is(err, io.EOF):
		_ = b.rc.SetReadDeadline(time.Time{})
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = errBodyTooSlow
	}
	return n, err
}

var errBodyTooSlow = errors.New("the request body arrived too slowly")
