package proxy

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// deadlines bounds what a slow client can hold. The body must arrive within
// body_timeout of the handler starting (the server's ReadHeaderTimeout
// covers the headers); after that the read deadline is lifted, because a
// read deadline that expires while a handler waits cancels its context, and
// calls may wait minutes for approval. Each write gets write_timeout from
// the moment it starts: an event stream or an approval wait lives as long
// as it needs, while a client that stops reading is cut off. One server-wide
// WriteTimeout would cut both.
func (s *Server) deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout.D()))
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, d: s.cfg.WriteTimeout.D()}, r)
	})
}

// bodyRead lifts the read deadline once the request body is in.
func bodyRead(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
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
