package redis

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// proxy forwards TCP to Redis and can freeze the connections it has: they
// stay open but nothing passes any more, as in a network partition. New
// connections are forwarded normally.
type proxy struct {
	ln     net.Listener
	target string
	db     string
	done   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex // guards conns
	conns []*proxyConn
}

type proxyConn struct {
	client, server net.Conn
	frozen         atomic.Bool
}

func newProxy(t *testing.T, url string) *proxy {
	t.Helper()
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: opt.Addr, done: make(chan struct{})}
	if i := strings.LastIndex(url, "/"); i > len("redis://") {
		p.db = url[i:]
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) URL() string { return "redis://" + p.ln.Addr().String() + p.db }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		pc := &proxyConn{client: c, server: s}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pc, c, s)
		go p.pipe(pc, s, c)
	}
}

func (p *proxy) pipe(pc *proxyConn, from, to net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if pc.frozen.Load() {
			<-p.done // hold everything, keep the connection open
			return
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			_ = to.Close()
			return
		}
	}
}

// Freeze stalls every connection open now.
func (p *proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.frozen.Store(true)
	}
}

// Close stops listening and closes every connection.
func (p *proxy) Close() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	_ = p.ln.Close()
	p.mu.Lock()
	for _, pc := range p.conns {
		_ = pc.client.Close()
		_ = pc.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
