//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tandemhq/tandem/protocol"
)

// slowClient is a minimal WebSocket client over a raw TCP socket: it does
// the upgrade, subscribes, and then stops reading. Its receive buffer is
// set small so the kernel holds little for it; what the server keeps
// sending piles up in the server's socket buffer and then in its send
// queue.
type slowClient struct {
	conn       *net.TCPConn
	br         *bufio.Reader
	localPort  int
	serverPort int
}

func dialSlow(ctx context.Context, base string, rcvbuf int) (*slowClient, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if rcvbuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}
		})
		return errors.Join(err, serr)
	}}
	c, err := d.DialContext(ctx, "tcp4", u.Host)
	if err != nil {
		return nil, err
	}
	conn := c.(*net.TCPConn)
	sc := &slowClient{conn: conn, br: bufio.NewReaderSize(conn, 4096),
		localPort: conn.LocalAddr().(*net.TCPAddr).Port, serverPort: conn.RemoteAddr().(*net.TCPAddr).Port}
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /ws?name=chaos-slow HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", u.Host, k)
	resp, err := http.ReadResponse(sc.br, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	resp.Body.Close()
	h := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		conn.Close()
		return nil, fmt.Errorf("upgrade refused: %s", resp.Status)
	}
	_ = conn.SetDeadline(time.Time{})
	return sc, nil
}

// send writes one masked text frame.
func (sc *slowClient) send(msg []byte) error {
	hdr := []byte{0x81}
	switch n := len(msg); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	body := make([]byte, len(msg))
	for i, b := range msg {
		body[i] = b ^ mask[i%4]
	}
	_ = sc.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := sc.conn.Write(append(hdr, body...))
	return err
}

// frame reads one frame: opcode, FIN, payload.
func (sc *slowClient) frame() (byte, bool, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(sc.br, h[:]); err != nil {
		return 0, false, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(sc.br, b[:]); err != nil {
			return 0, false, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(sc.br, b[:]); err != nil {
			return 0, false, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 64<<20 {
		return 0, false, nil, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(sc.br, p); err != nil {
		return 0, false, nil, err
	}
	return h[0] & 0x0f, h[0]&0x80 != 0, p, nil
}

// message reads one data message (reassembling fragments); a close frame
// is returned as opcode 8.
func (sc *slowClient) message() (byte, []byte, error) {
	var op byte
	var buf []byte
	for {
		o, fin, p, err := sc.frame()
		if err != nil {
			return 0, nil, err
		}
		switch o {
		case 0x8:
			return 0x8, p, nil
		case 0x9, 0xA:
			continue // ping, pong: this client does not answer
		case 0x0:
		default:
			op = o
		}
		buf = append(buf, p...)
		if fin {
			return op, buf, nil
		}
	}
}

// subscribe does the handshake and subscribes to ids, reading until every
// subscription is answered with a snapshot.
func (sc *slowClient) subscribe(coll string, ids []string) error {
	_ = sc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer sc.conn.SetReadDeadline(time.Time{})
	if err := sc.send([]byte(`{"a":"hs","id":null,"protocol":1,"protocolMinor":2}`)); err != nil {
		return err
	}
	for _, id := range ids {
		b, _ := json.Marshal(map[string]string{"a": "s", "c": coll, "d": id})
		if err := sc.send(b); err != nil {
			return err
		}
	}
	pending := len(ids)
	if pending == 0 {
		return nil
	}
	return sc.readUntil(func(m wireMsg) (bool, error) {
		if m.A != "s" {
			return false, nil
		}
		if m.Error != nil {
			return true, fmt.Errorf("subscribe %s: %s %s", m.D, m.Error.Code, m.Error.Message)
		}
		pending--
		return pending == 0, nil
	})
}

// readUntil reads messages until done says so (or fails), and fails
// when the server closes the connection first.
func (sc *slowClient) readUntil(done func(wireMsg) (bool, error)) error {
	for {
		op, p, err := sc.message()
		if err != nil {
			return err
		}
		if op == 0x8 {
			return fmt.Errorf("closed by the server: %s", closeText(p))
		}
		var m wireMsg
		if json.Unmarshal(p, &m) != nil {
			continue
		}
		if ok, err := done(m); ok || err != nil {
			return err
		}
	}
}

// create creates document id (rich-text, one line of size bytes) and
// waits for the ack.
func (sc *slowClient) create(coll, id string, size int) error {
	_ = sc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer sc.conn.SetReadDeadline(time.Time{})
	text := strings.Repeat("chaos big document line. ", size/25+1)[:size] + "\n"
	msg, _ := json.Marshal(map[string]any{"a": "op", "c": coll, "d": id, "v": nil, "seq": 1, "x": map[string]any{},
		"create": map[string]any{"type": "http://sharejs.org/types/rich-text/v1", "data": []any{map[string]string{"insert": text}}}})
	if err := sc.send(msg); err != nil {
		return err
	}
	return sc.readUntil(func(m wireMsg) (bool, error) {
		if m.A != "op" || m.D != id || m.Seq != 1 {
			return false, nil
		}
		if m.Error != nil && m.Error.Code != protocol.ErrDocAlreadyCreated {
			return true, fmt.Errorf("create %s: %s %s", id, m.Error.Code, m.Error.Message)
		}
		return true, nil
	})
}

func closeText(p []byte) string {
	if len(p) < 2 {
		return "no status"
	}
	return fmt.Sprintf("%d %q", binary.BigEndian.Uint16(p[:2]), p[2:])
}

// tcpEntry is the state of one TCP socket.
type tcpEntry struct {
	state   int
	txQueue int64 // bytes not yet acknowledged by the peer
	rxQueue int64 // bytes received, not yet read
}

const tcpEstablished = 1

var tcpStates = map[int]string{1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
	7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}

// tcpLookup finds the IPv4 loopback socket with the given local and remote
// ports: found is false once the socket is gone (the lookup may then find
// the listener on the same port instead). It asks netlink's sock_diag,
// which looks the one socket up in the kernel's hash table, and falls back
// to /proc/net/tcp where sock_diag is not available; err means neither
// works, so nothing can be said about the socket.
func tcpLookup(local, remote int) (e tcpEntry, found bool, err error) {
	e, found, err = sockDiagLookup(local, remote)
	if err == nil {
		return e, found, nil
	}
	return procTCPLookup(local, remote)
}

// sockDiagLookup is tcpLookup through sock_diag. (Reading /proc/net/tcp
// walks every socket of the machine: with thousands open, ten reads a
// second cost a good share of a CPU and slowed the very server being
// measured.)
func sockDiagLookup(local, remote int) (tcpEntry, bool, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, 4 /* NETLINK_SOCK_DIAG */)
	if err != nil {
		return tcpEntry{}, false, err
	}
	defer syscall.Close(fd)
	_ = syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &syscall.Timeval{Sec: 1})
	// nlmsghdr (16) + inet_diag_req_v2 (56).
	req := make([]byte, 72)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], 72)
	ne.PutUint16(req[4:], 20) // SOCK_DIAG_BY_FAMILY
	ne.PutUint16(req[6:], 1)  // NLM_F_REQUEST: one socket, no dump
	ne.PutUint32(req[8:], 1)
	req[16], req[17] = syscall.AF_INET, syscall.IPPROTO_TCP
	ne.PutUint32(req[20:], 0xffffffff) // all states
	id := req[24:]
	binary.BigEndian.PutUint16(id[0:], uint16(local))
	binary.BigEndian.PutUint16(id[2:], uint16(remote))
	copy(id[4:], []byte{127, 0, 0, 1})
	copy(id[20:], []byte{127, 0, 0, 1})
	ne.PutUint32(id[40:], 0xffffffff) // INET_DIAG_NOCOOKIE
	ne.PutUint32(id[44:], 0xffffffff)
	if err := syscall.Sendto(fd, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return tcpEntry{}, false, err
	}
	buf := make([]byte, 8192)
	n, _, err := syscall.Recvfrom(fd, buf, 0)
	if err != nil {
		return tcpEntry{}, false, err
	}
	if n < 16 {
		return tcpEntry{}, false, fmt.Errorf("sock_diag: short reply (%d bytes)", n)
	}
	switch typ := ne.Uint16(buf[4:]); {
	case typ == 2 && n >= 20: // NLMSG_ERROR
		if errno := syscall.Errno(-int32(ne.Uint32(buf[16:]))); errno != syscall.ENOENT {
			return tcpEntry{}, false, fmt.Errorf("sock_diag: %w", errno)
		}
		return tcpEntry{}, false, nil // no such socket
	case typ != 20 || n < 16+72:
		return tcpEntry{}, false, fmt.Errorf("sock_diag: unexpected reply type %d (%d bytes)", typ, n)
	}
	// inet_diag_msg: family, state, timer, retrans, id (48), expires,
	// rqueue, wqueue, uid, inode.
	msg := buf[16:]
	return tcpEntry{state: int(msg[1]), rxQueue: int64(ne.Uint32(msg[56:])), txQueue: int64(ne.Uint32(msg[60:]))}, true, nil
}

// procTCPLookup is tcpLookup through /proc/net/tcp, whose lines read
// "sl local rem st tx_queue:rx_queue ..." with addresses as hex
// "0100007F:1F90" (127.0.0.1:8080) and the state in hex.
func procTCPLookup(local, remote int) (tcpEntry, bool, error) {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return tcpEntry{}, false, err
	}
	return parseProcTCP(string(b), local, remote)
}

func parseProcTCP(table string, local, remote int) (tcpEntry, bool, error) {
	lines := strings.Split(table, "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], "local_address") {
		return tcpEntry{}, false, errors.New("/proc/net/tcp: unexpected format")
	}
	want := [2]string{fmt.Sprintf("0100007F:%04X", local), fmt.Sprintf("0100007F:%04X", remote)}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != want[0] || f[2] != want[1] {
			continue
		}
		state, err1 := strconv.ParseInt(f[3], 16, 32)
		tx, rx, ok := strings.Cut(f[4], ":")
		txQ, err2 := strconv.ParseInt(tx, 16, 64)
		rxQ, err3 := strconv.ParseInt(rx, 16, 64)
		if err := errors.Join(err1, err2, err3); err != nil || !ok {
			return tcpEntry{}, false, fmt.Errorf("/proc/net/tcp: bad line %q", line)
		}
		return tcpEntry{state: int(state), txQueue: txQ, rxQueue: rxQ}, true, nil
	}
	return tcpEntry{}, false, nil
}

// slowResult is what the scenario reports about the non-reading client.
type slowResult struct {
	Instance      int      `json:"instance"`
	Docs          []string `json:"docs"`
	RcvBuf        int      `json:"so_rcvbuf"`
	Fetches       int      `json:"fetches_unread"` // of BigDoc
	BigDoc        string   `json:"big_doc,omitempty"`
	BigBytes      int      `json:"big_doc_bytes,omitempty"`
	Reading       bool     `json:"reading"`           // the control: it never stopped reading
	ConnectedS    float64  `json:"connected_s"`       // since the load run started
	StoppedS      float64  `json:"stopped_reading_s"` // subscribed; from here on it never reads
	ClosedS       float64  `json:"server_closed_s"`   // -1: not within the bound
	ClosedAfterS  float64  `json:"closed_after_s"`    // closed minus stopped
	ServerState   string   `json:"server_socket_state_after_close"`
	MaxServerSndQ int64    `json:"max_server_kernel_send_queue_bytes"`
	MaxClientRcvQ int64    `json:"max_client_kernel_receive_queue_bytes"`
	DrainedBytes  int64    `json:"drained_bytes"` // read after it was closed (a reading control: all it read)
	DrainedMsgs   int      `json:"drained_messages"`
	DrainEnd      string   `json:"drain_end"` // close frame, EOF or error seen when reading afterwards
	Error         string   `json:"error,omitempty"`
}

// bigFetch is what the second slow client asks for before it stops
// reading: count fetches of a document of bytes it creates.
type bigFetch struct {
	id    string
	bytes int
	count int
}

// runSlow connects, subscribes, stops reading, and watches the server's
// end of the socket (sock_diag) until it is closed (or bound passes).
// Afterwards it reads what was left to see how the connection ended.
//
// With until set, the client is the control: it does the same but keeps
// reading everything until until is closed, and the server must not close
// it.
func runSlow(ctx context.Context, in *instance, coll string, ids []string, rcvbuf int, big bigFetch, t0 time.Time, bound time.Duration, until <-chan struct{}, onStop func()) *slowResult {
	res := &slowResult{Instance: in.idx + 1, Docs: ids, RcvBuf: rcvbuf, Fetches: big.count, BigDoc: big.id, BigBytes: big.bytes,
		Reading: until != nil, ClosedS: -1, ClosedAfterS: -1}
	sc, err := dialSlow(ctx, in.url, rcvbuf)
	if err != nil {
		res.Error = "dial: " + err.Error()
		return res
	}
	defer sc.conn.Close()
	res.ConnectedS = roundS(time.Since(t0))
	if err := sc.subscribe(coll, ids); err != nil {
		res.Error = "subscribe: " + err.Error()
		return res
	}
	// A big document, asked for many times without reading the answers:
	// the server has more to send than the socket buffers hold, and few
	// requests to serve for it.
	if big.count > 0 {
		if err := sc.create(coll, big.id, big.bytes); err != nil {
			res.Error = err.Error()
			return res
		}
		b, _ := json.Marshal(map[string]any{"a": "f", "c": coll, "d": big.id})
		for range big.count {
			if err := sc.send(b); err != nil {
				res.Error = "fetch: " + err.Error()
				return res
			}
		}
	}
	stopped := time.Now()
	res.StoppedS = roundS(stopped.Sub(t0))
	if onStop != nil {
		onStop()
	}
	if until != nil {
		stop := context.AfterFunc(ctx, func() { sc.conn.Close() })
		defer stop()
		go func() {
			select {
			case <-until:
			case <-ctx.Done():
			}
			sc.conn.SetReadDeadline(time.Now())
		}()
		for {
			op, p, err := sc.message()
			if err != nil {
				select {
				case <-until:
					res.DrainEnd = "kept reading until the end of the run"
				default:
					res.Error = "lost while reading: " + err.Error()
				}
				return res
			}
			if op == 0x8 {
				res.Error = "closed by the server while reading: " + closeText(p)
				return res
			}
			res.DrainedMsgs++
			res.DrainedBytes += int64(len(p))
		}
	}
	deadline := stopped.Add(bound)
	for {
		srv, ok, err := tcpLookup(sc.serverPort, sc.localPort)
		if err != nil {
			// Without a view of the server's socket a vanished one
			// and a blind lookup look alike: fail, never pass.
			res.Error = "cannot observe the server's socket: " + err.Error()
			break
		}
		if cli, ok, _ := tcpLookup(sc.localPort, sc.serverPort); ok {
			res.MaxClientRcvQ = max(res.MaxClientRcvQ, cli.rxQueue)
		}
		if ok {
			res.MaxServerSndQ = max(res.MaxServerSndQ, srv.txQueue)
		}
		if !ok || srv.state != tcpEstablished {
			now := time.Now()
			res.ClosedS = roundS(now.Sub(t0))
			res.ClosedAfterS = roundS(now.Sub(stopped))
			res.ServerState = "gone"
			if ok {
				res.ServerState = tcpStates[srv.state]
			}
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			res.Error = fmt.Sprintf("the server did not close the connection within %s", bound)
			break
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	// Read what is left: the server's close frame (if it sent one) comes
	// after everything queued before it.
	_ = sc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		op, p, err := sc.message()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				res.DrainEnd = "EOF without a close frame"
			} else {
				res.DrainEnd = "read error: " + err.Error()
			}
			break
		}
		if op == 0x8 {
			res.DrainEnd = "close frame " + closeText(p)
			break
		}
		res.DrainedMsgs++
		res.DrainedBytes += int64(len(p))
	}
	return res
}
