//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/ot"
	"github.com/tandemhq/tandem/ot/builtin"
	mongostore "github.com/tandemhq/tandem/storage/mongo"
)

// The replica check. Each instance's view of each document is what one
// subscriber on that instance holds: a ShareDB client that subscribes,
// applies every op the instance sends it in version order and remembers
// the document at its last versions. "Identical" means: every subscriber
// has reached the version of the snapshot stored in MongoDB (read directly,
// not through Tandem), and its document at that version equals the stored
// one. That works while editors keep typing: the comparison is at one
// version, not at one moment.

var registry = builtin.Registry()

const histLen = 256

type histEntry struct {
	v    int64
	data []byte // canonical encoding at version v ("null": no document)
}

type replica struct {
	typ  ot.Type
	snap ot.Snapshot
	v    int64
	have bool // holds the document (subscribed and in step)
	hist []histEntry
}

func (r *replica) record() error {
	data := []byte("null")
	if r.typ != nil {
		b, err := r.typ.EncodeSnapshot(r.snap)
		if err != nil {
			return err
		}
		data = b
	}
	if len(r.hist) >= histLen {
		r.hist = append(r.hist[:0:0], r.hist[len(r.hist)-histLen/2:]...)
	}
	r.hist = append(r.hist, histEntry{r.v, data})
	return nil
}

func (r *replica) at(v int64) ([]byte, bool) {
	for i := len(r.hist) - 1; i >= 0; i-- {
		if r.hist[i].v == v {
			return r.hist[i].data, true
		}
		if r.hist[i].v < v {
			break
		}
	}
	return nil, false
}

// probe is the subscriber on one instance.
type probe struct {
	in   *instance
	coll string
	ids  []string

	wmu  sync.Mutex // one writer
	mu   sync.Mutex // guards the rest
	conn *websocket.Conn
	docs map[string]*replica

	connects   int
	lost       int
	gaps       int
	errCodes   map[string]int
	applyFails []string
}

type wireMsg struct {
	A      string          `json:"a"`
	C      string          `json:"c"`
	D      string          `json:"d"`
	V      *int64          `json:"v"`
	Src    string          `json:"src"`
	Seq    int64           `json:"seq"`
	Op     json.RawMessage `json:"op"`
	Create *struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	} `json:"create"`
	Del   bool            `json:"del"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type wireSnapshot struct {
	V    int64           `json:"v"`
	Type *string         `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (p *probe) run(ctx context.Context) {
	u, _ := url.Parse(p.in.url)
	wsURL := "ws://" + u.Host + "/ws?name=chaos-probe"
	dialer := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	for ctx.Err() == nil {
		conn, _, err := dialer.DialContext(ctx, wsURL, nil)
		if err != nil {
			p.count("DIAL_FAILED")
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		p.mu.Lock()
		p.conn = conn
		p.connects++
		p.mu.Unlock()
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		_ = p.session(conn)
		stop()
		conn.Close()
		p.mu.Lock()
		p.conn = nil
		for _, r := range p.docs {
			r.have = false
		}
		if ctx.Err() == nil {
			p.lost++
		}
		p.mu.Unlock()
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

func (p *probe) count(code string) {
	p.mu.Lock()
	p.errCodes[code]++
	p.mu.Unlock()
}

func (p *probe) write(conn *websocket.Conn, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return conn.WriteMessage(websocket.TextMessage, b)
}

func (p *probe) session(conn *websocket.Conn) error {
	if err := p.write(conn, map[string]any{"a": "hs", "id": nil, "protocol": 1, "protocolMinor": 2}); err != nil {
		return err
	}
	for _, id := range p.ids {
		if err := p.write(conn, map[string]any{"a": "s", "c": p.coll, "d": id}); err != nil {
			return err
		}
	}
	for {
		_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		var m wireMsg
		if json.Unmarshal(data, &m) != nil {
			p.count("BAD_MESSAGE")
			continue
		}
		if m.C != "" && m.C != p.coll {
			continue
		}
		switch m.A {
		case "s", "f":
			p.onSnapshot(conn, &m)
		case "op":
			p.onOp(conn, &m)
		}
	}
}

// refetch asks for the document again after a moment (after an error
// reply, a gap or an op that did not apply).
func (p *probe) refetch(conn *websocket.Conn, id string, after time.Duration) {
	if conn == nil {
		return
	}
	time.AfterFunc(after, func() {
		p.mu.Lock()
		same := p.conn == conn
		p.mu.Unlock()
		if same {
			_ = p.write(conn, map[string]any{"a": "f", "c": p.coll, "d": id})
		}
	})
}

func (p *probe) onSnapshot(conn *websocket.Conn, m *wireMsg) {
	if m.Error != nil {
		p.count(m.Error.Code)
		p.refetch(conn, m.D, 300*time.Millisecond)
		return
	}
	var s wireSnapshot
	if err := json.Unmarshal(m.Data, &s); err != nil {
		p.count("BAD_SNAPSHOT")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.docs[m.D]
	if r == nil {
		return
	}
	if r.have && s.V <= r.v {
		return // an older fetch answered late; ours is current
	}
	r.typ, r.snap, r.v = nil, nil, s.V
	if s.Type != nil {
		t, ok := registry.Lookup(*s.Type)
		if !ok {
			p.applyFails = append(p.applyFails, fmt.Sprintf("%s: unknown type %q", m.D, *s.Type))
			return
		}
		snap, err := t.DecodeSnapshot(s.Data)
		if err != nil {
			p.applyFails = append(p.applyFails, fmt.Sprintf("%s v%d: snapshot: %v", m.D, s.V, err))
			return
		}
		r.typ, r.snap = t, snap
	}
	r.hist = r.hist[:0]
	if err := r.record(); err != nil {
		p.applyFails = append(p.applyFails, fmt.Sprintf("%s v%d: encode: %v", m.D, s.V, err))
		return
	}
	r.have = true
}

func (p *probe) onOp(conn *websocket.Conn, m *wireMsg) {
	if m.Error != nil || m.V == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.docs[m.D]
	if r == nil || !r.have {
		return
	}
	v := *m.V
	switch {
	case v < r.v:
		return // already have it
	case v > r.v:
		// A subscriber must get every op in order; sharedb's client
		// fetches when it does not. Count it and do the same.
		p.gaps++
		r.have = false
		p.refetch(conn, m.D, 0)
		return
	}
	var err error
	switch {
	case m.Create != nil:
		t, ok := registry.Lookup(m.Create.Type)
		if !ok {
			err = fmt.Errorf("unknown type %q", m.Create.Type)
			break
		}
		var snap ot.Snapshot
		if snap, err = t.Create(m.Create.Data); err == nil {
			r.typ, r.snap = t, snap
		}
	case m.Del:
		r.typ, r.snap = nil, nil
	case r.typ == nil:
		err = errors.New("op on a document that does not exist")
	default:
		var op ot.Op
		if op, err = r.typ.DecodeOp(m.Op); err == nil {
			var snap ot.Snapshot
			if snap, err = r.typ.Apply(r.snap, op); err == nil {
				r.snap = snap
			}
		}
	}
	if err != nil {
		p.applyFails = append(p.applyFails, fmt.Sprintf("instance %d: %s v%d (src %s seq %d): %v", p.in.idx+1, m.D, v, m.Src, m.Seq, err))
		r.have = false
		p.refetch(conn, m.D, 0)
		return
	}
	r.v = v + 1
	if err := r.record(); err != nil {
		p.applyFails = append(p.applyFails, fmt.Sprintf("%s v%d: encode: %v", m.D, r.v, err))
	}
}

// state returns the replica's version and whether it holds the document.
func (p *probe) state(id string) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.docs[id]
	return r.v, r.have
}

func (p *probe) at(id string, v int64) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.docs[id].at(v)
}

// replicaSet watches one collection's documents on every instance.
type replicaSet struct {
	cl     *cluster
	coll   string
	ids    []string
	probes []*probe
	store  *mongostore.Store
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newReplicaSet(ctx context.Context, cl *cluster, coll string, ids []string) (*replicaSet, error) {
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := mongostore.New(sctx, mongostore.Config{URL: cl.mongoURL, Database: cl.mongoDB, ServerSelectionTimeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("direct MongoDB reader: %w", err)
	}
	rs := &replicaSet{cl: cl, coll: coll, ids: ids, store: st}
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	rs.cancel = pcancel
	for _, in := range cl.instances {
		p := &probe{in: in, coll: coll, ids: ids, docs: map[string]*replica{}, errCodes: map[string]int{}}
		for _, id := range ids {
			p.docs[id] = &replica{}
		}
		rs.probes = append(rs.probes, p)
		rs.wg.Go(func() { p.run(pctx) })
	}
	return rs, nil
}

func (rs *replicaSet) close() {
	rs.cancel()
	rs.wg.Wait()
	_ = rs.store.Close(context.Background())
}

// canonical is a snapshot's data in the type's own encoding.
func canonical(typeURI string, data json.RawMessage) ([]byte, error) {
	if typeURI == "" {
		return []byte("null"), nil
	}
	t, ok := registry.Lookup(typeURI)
	if !ok {
		return nil, fmt.Errorf("unknown type %q", typeURI)
	}
	s, err := t.DecodeSnapshot(data)
	if err != nil {
		return nil, err
	}
	return t.EncodeSnapshot(s)
}

type storedDoc struct {
	v    int64
	data []byte
}

func (rs *replicaSet) readStored(ctx context.Context) (map[string]storedDoc, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	snaps, err := rs.store.Snapshots(ctx, rs.coll, rs.ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]storedDoc, len(snaps))
	for i, s := range snaps {
		c, err := canonical(s.Type, s.Data)
		if err != nil {
			return nil, fmt.Errorf("stored %s: %w", rs.ids[i], err)
		}
		out[rs.ids[i]] = storedDoc{s.V, c}
	}
	return out, nil
}

// checkResult is one comparison of every replica with the stored snapshot.
type checkResult struct {
	ok         bool
	waiting    []string // replicas not (yet) at the stored version
	mismatches []string // replicas that differ from the store at the same version
	versions   map[string]int64
	stored     map[string]storedDoc // what was compared
	err        error
}

// check reads the stored snapshots, waits up to wait for every replica to
// reach their versions, and compares.
func (rs *replicaSet) check(ctx context.Context, wait time.Duration) checkResult {
	stored, err := rs.readStored(ctx)
	if err != nil {
		return checkResult{err: err}
	}
	res := checkResult{versions: map[string]int64{}, stored: stored}
	for id, s := range stored {
		res.versions[id] = s.v
	}
	deadline := time.Now().Add(wait)
	for {
		res.waiting = res.waiting[:0]
		for _, p := range rs.probes {
			for _, id := range rs.ids {
				v, have := p.state(id)
				if !have || v < stored[id].v {
					res.waiting = append(res.waiting, fmt.Sprintf("instance %d %s at v%d (have %v), store at v%d", p.in.idx+1, id, v, have, stored[id].v))
				}
			}
		}
		if len(res.waiting) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(res.waiting) > 0 {
		return res
	}
	for _, p := range rs.probes {
		for _, id := range rs.ids {
			s := stored[id]
			got, ok := p.at(id, s.v)
			if !ok {
				res.waiting = append(res.waiting, fmt.Sprintf("instance %d %s: v%d no longer in the replica's history", p.in.idx+1, id, s.v))
				continue
			}
			if !bytes.Equal(got, s.data) {
				res.mismatches = append(res.mismatches, fmt.Sprintf("instance %d %s at v%d differs from the stored snapshot: %s",
					p.in.idx+1, id, s.v, diffSummary(got, s.data)))
			}
		}
	}
	res.ok = len(res.waiting) == 0 && len(res.mismatches) == 0
	return res
}

// diffSummary says where two encodings first differ.
func diffSummary(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	snip := func(x []byte) string {
		lo, hi := max(0, i-40), min(len(x), i+80)
		return string(x[lo:hi])
	}
	return fmt.Sprintf("replica %d bytes, stored %d bytes, first difference at byte %d: replica …%s… stored …%s…", len(a), len(b), i, snip(a), snip(b))
}

// convergence is how long after a recovery every replica and the stored
// snapshot were identical.
type convergence struct {
	// AfterS is from the recovery to the end of the first check that
	// found everything identical (stored snapshot read, every replica at
	// its version and equal); -1 if that never happened within the bound.
	AfterS     float64          `json:"after_s"`
	RecoveredS float64          `json:"recovered_s,omitempty"` // since the load run started
	Label      string           `json:"label,omitempty"`       // what AfterS counts from
	BoundS     float64          `json:"bound_s"`
	Checks     int              `json:"checks"`
	Versions   map[string]int64 `json:"versions,omitempty"` // stored versions at that check
	Last       []string         `json:"last_not_identical,omitempty"`
	Mismatches []string         `json:"mismatches,omitempty"`
}

// waitConverged checks every 250 ms from now until everything is identical
// or bound has passed since recovered.
func (rs *replicaSet) waitConverged(ctx context.Context, recovered time.Time, bound time.Duration) convergence {
	c := convergence{AfterS: -1, BoundS: bound.Seconds()}
	for ctx.Err() == nil {
		res := rs.check(ctx, 2*time.Second)
		c.Checks++
		if len(res.mismatches) > 0 && len(c.Mismatches) < 10 {
			c.Mismatches = append(c.Mismatches, res.mismatches...)
		}
		if res.ok {
			c.AfterS = roundS(time.Since(recovered))
			c.Versions = res.versions
			c.Last = nil
			return c
		}
		switch {
		case res.err != nil:
			c.Last = []string{"store read: " + res.err.Error()}
		case len(res.mismatches) > 0:
			c.Last = res.mismatches
		default:
			c.Last = res.waiting
		}
		if len(c.Last) > 6 {
			c.Last = append(c.Last[:6:6], fmt.Sprintf("… and %d more", len(c.Last)-6))
		}
		if time.Since(recovered) > bound {
			return c
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
	return c
}

// finalCheck runs once the load run has ended (nobody types): every replica,
// every instance's read API and the stored snapshot must be identical, at
// the same version.
type finalCheck struct {
	OK        bool             `json:"ok"`
	AfterS    float64          `json:"after_s"` // after the load run ended
	Versions  map[string]int64 `json:"versions"`
	Problems  []string         `json:"problems,omitempty"`
	APIChecks int              `json:"api_reads"`
}

func (rs *replicaSet) final(ctx context.Context, ended time.Time, bound time.Duration) finalCheck {
	var f finalCheck
	for {
		res := rs.check(ctx, time.Second)
		f.Problems = nil
		if res.err != nil {
			f.Problems = append(f.Problems, "store read: "+res.err.Error())
		}
		f.Problems = append(f.Problems, res.waiting...)
		f.Problems = append(f.Problems, res.mismatches...)
		if res.ok {
			// Quiescent: replicas exactly at the stored version.
			for _, p := range rs.probes {
				for _, id := range rs.ids {
					if v, _ := p.state(id); v != res.versions[id] {
						f.Problems = append(f.Problems, fmt.Sprintf("instance %d %s at v%d after the run, store at v%d", p.in.idx+1, id, v, res.versions[id]))
					}
				}
			}
			stored := res.stored
			for _, in := range rs.cl.instances {
				for _, id := range rs.ids {
					f.APIChecks++
					v, data, err := apiSnapshot(ctx, in.url, rs.coll, id)
					switch {
					case err != nil:
						f.Problems = append(f.Problems, fmt.Sprintf("instance %d GET %s: %v", in.idx+1, id, err))
					case v != stored[id].v || !bytes.Equal(data, stored[id].data):
						f.Problems = append(f.Problems, fmt.Sprintf("instance %d GET /api/v1/docs/%s/%s: v%d vs stored v%d: %s",
							in.idx+1, rs.coll, id, v, stored[id].v, diffSummary(data, stored[id].data)))
					}
				}
			}
			f.Versions = res.versions
		}
		if len(f.Problems) == 0 {
			f.OK = true
			f.AfterS = roundS(time.Since(ended))
			return f
		}
		if time.Since(ended) > bound || ctx.Err() != nil {
			f.AfterS = roundS(time.Since(ended))
			if len(f.Problems) > 10 {
				f.Problems = append(f.Problems[:10:10], fmt.Sprintf("… and %d more", len(f.Problems)-10))
			}
			return f
		}
		sleepCtx(ctx, 250*time.Millisecond)
	}
}

func apiSnapshot(ctx context.Context, base, coll, id string) (int64, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	u := base + "/api/v1/docs/" + url.PathEscape(coll) + "/" + url.PathEscape(id)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var s wireSnapshot
	if err := json.Unmarshal(body, &s); err != nil {
		return 0, nil, err
	}
	t := ""
	if s.Type != nil {
		t = *s.Type
	}
	c, err := canonical(t, s.Data)
	return s.V, c, err
}

// probeStats is what the summary keeps about the subscribers.
type probeStats struct {
	Instance   int            `json:"instance"`
	Connects   int            `json:"connects"`
	Lost       int            `json:"connections_lost"`
	Gaps       int            `json:"gaps"`
	Errors     map[string]int `json:"errors,omitempty"`
	ApplyFails []string       `json:"apply_failures,omitempty"`
}

func (rs *replicaSet) stats() []probeStats {
	var out []probeStats
	for _, p := range rs.probes {
		p.mu.Lock()
		ps := probeStats{Instance: p.in.idx + 1, Connects: p.connects, Lost: p.lost, Gaps: p.gaps,
			Errors: maps.Clone(p.errCodes), ApplyFails: slices.Clone(p.applyFails)}
		p.mu.Unlock()
		out = append(out, ps)
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func roundS(d time.Duration) float64 { return float64(d.Round(time.Millisecond)) / 1e9 }
