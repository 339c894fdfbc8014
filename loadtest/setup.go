package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandemhq/tandem/protocol"
)

// initialData is what a new document holds: Quill's empty document for
// rich-text, the empty string for text-unicode.
func (r *Runner) initialData() string {
	if r.rich {
		return `[{"insert":"\n"}]`
	}
	return `""`
}

// setupDocs creates the documents over one WebSocket (reusing those that
// exist already, if their type fits) and checks the read API answers.
func (r *Runner) setupDocs(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ep := &r.eps[0]
	conn, err := r.dialWS(ctx, ep)
	if err != nil {
		return fmt.Errorf("loadtest: cannot open a WebSocket to %s: %w", ep.ws, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.WriteMessage(websocket.TextMessage, handshake("")); err != nil {
		return fmt.Errorf("loadtest: handshake with %s: %w", ep.ws, err)
	}
	for {
		m, err := readMsg(conn)
		if err != nil {
			return fmt.Errorf("loadtest: handshake with %s: %w", ep.ws, err)
		}
		if m.A == "hs" {
			if m.Error != nil {
				return fmt.Errorf("loadtest: handshake refused: %s %s", m.Error.code(), m.Error.Message)
			}
			break
		}
	}
	for i, d := range r.docs {
		create := protocol.NewObj(64).Str("type", r.typ.URI()).Raw("data", []byte(r.initialData())).Bytes()
		msg := protocol.NewObj(128+len(create)).Str("a", "op").Str("c", r.cfg.Collection).Str("d", d.id).
			Null("v").Int("seq", int64(i+1)).Raw("x", []byte("{}")).Raw("create", create).Bytes()
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			return fmt.Errorf("loadtest: creating documents: %w", err)
		}
	}
	for answered := 0; answered < len(r.docs); {
		m, err := readMsg(conn)
		if err != nil {
			return fmt.Errorf("loadtest: creating documents: %w", err)
		}
		if m.A != "op" || m.Seq == nil || *m.Seq < 1 || *m.Seq > uint64(len(r.docs)) {
			continue
		}
		d := r.docs[*m.Seq-1]
		answered++
		switch {
		case m.Error == nil:
			d.created = true
		case m.Error.code() == "ERR_DOC_ALREADY_CREATED":
			// Reuse it if it is of our type.
		default:
			return fmt.Errorf("loadtest: creating %s/%s: %s %s", r.cfg.Collection, d.id, m.Error.code(), m.Error.Message)
		}
	}
	for _, d := range r.docs {
		s, err := r.fetchSnapshot(ctx, d.id)
		if err != nil {
			return fmt.Errorf("loadtest: reading %s/%s back through the API: %w", r.cfg.Collection, d.id, err)
		}
		if s.Type == nil || *s.Type != r.typ.URI() {
			t := "none (deleted)"
			if s.Type != nil {
				t = *s.Type
			}
			return fmt.Errorf("loadtest: document %s/%s exists with type %s, not %s: use another --seed", r.cfg.Collection, d.id, t, r.typ.Name())
		}
	}
	return nil
}

func readMsg(conn *websocket.Conn) (*inMsg, error) {
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, data, err := conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	var m inMsg
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("bad message %.200q: %w", data, err)
	}
	return &m, nil
}

// getJSON GETs an API URL into dst.
func (r *Runner) getJSON(ctx context.Context, u string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	r.authorize(req)
	resp, err := r.api.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	return json.NewDecoder(resp.Body).Decode(dst)
}

// fetchSnapshot reads a document's current snapshot from the first
// instance's API.
func (r *Runner) fetchSnapshot(ctx context.Context, id string) (snapshotMsg, error) {
	var s snapshotMsg
	err := r.getJSON(ctx, r.docURL(&r.eps[0], id), &s)
	return s, err
}

// logOp is one op of the op log: what the checks read of it.
type logOp struct {
	V   int64  `json:"v"`
	Src string `json:"src"`
	Seq uint64 `json:"seq"`
}

// fetchOps calls fn for every op of a document's log, in version order,
// up to version to (exclusive).
func (r *Runner) fetchOps(ctx context.Context, id string, to int64, fn func(logOp)) error {
	from := int64(0)
	for from < to {
		var page struct {
			Ops  []logOp `json:"ops"`
			Next *int64  `json:"next"`
		}
		u := r.docURL(&r.eps[0], id) + "/ops?limit=1000&from=" + strconv.FormatInt(from, 10) + "&to=" + strconv.FormatInt(to, 10)
		if err := r.getJSON(ctx, u, &page); err != nil {
			return err
		}
		for _, op := range page.Ops {
			fn(op)
		}
		if page.Next == nil {
			return nil
		}
		if *page.Next <= from {
			return errors.New("op log pagination does not advance")
		}
		from = *page.Next
	}
	return nil
}
