package proxy

import (
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/drawbridge-mcp/drawbridge/config"
)

// HTTPServer is the http.Server every Drawbridge listener serves h with
// (the MCP listener, the public ones and the admin listener), so a slow
// client holds nothing for long on any of them: the headers must arrive
// within 10s, the body within body_timeout, each write finish within
// write_timeout (Deadlines), and an idle keep-alive connection is closed
// after 120s. Serve it on LimitListener(ln, cfg.MaxConnsPerAddress).
func HTTPServer(cfg *config.Config, h http.Handler, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           Deadlines(h, cfg.BodyTimeout.D(), cfg.WriteTimeout.D()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          errorLog,
	}
}

// Deadlines bounds what a slow client can hold. The body must arrive within
// body timeout of the handler starting (the server's ReadHeaderTimeout
// covers the headers); once it has been read to its end, or at once when
// there is none, the read deadline is lifted, because a read deadline that
// expires while a handler waits cancels its context, and calls may wait
// minutes for approval and event streams stay open for hours. Each write
// gets write from the moment it starts: an event stream or an approval wait
// lives as long as it needs, while a client that stops reading is cut off.
// One server-wide WriteTimeout would cut both.
func Deadlines(next http.Handler, body, write time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(body))
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, d: write}, r)
	})
}

// deadlineBody lifts the read deadline when the body has been read to its
// end. A body that fails (too large, too slow) keeps it: the server's
// discard of the rest is bounded by it, and the connection closes.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// deadlineWriter gives each write and flush its own deadline.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (w *deadlineWriter) arm() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.d)) }

func (w *deadlineWriter) WriteHeader(code int) { w.arm(); w.ResponseWriter.WriteHeader(code) }

func (w *deadlineWriter) Write(b []byte) (int, error) { w.arm(); return w.ResponseWriter.Write(b) }

// Flush sends what is buffered, within the deadline.
func (w *deadlineWriter) Flush() { w.arm(); _ = w.rc.Flush() }

// Unwrap lets http.ResponseController reach the connection.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// LimitListener closes connections beyond max open at once from one
// remote address, as soon as they are accepted, so one client cannot hold
// every file descriptor. max <= 0 means no limit.
func LimitListener(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: max, open: map[string]int{}}
}

type limitListener struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open[host] < l.max
		if ok {
			l.open[host]++
		}
		l.mu.Unlock()
		if !ok {
			_ = c.Close()
			continue
		}
		return &limitConn{Conn: c, release: func() { l.release(host) }}, nil
	}
}

func (l *limitListener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[host]--; l.open[host] <= 0 {
		delete(l.open, host)
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
