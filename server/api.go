package server

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"

	"github.com/tandemhq/tandem/protocol"
	"github.com/tandemhq/tandem/storage"
)

// The read API (docs/api.md): snapshots, the op log, collection listings.
// It never writes.

func (s *Server) apiRoutes() {
	api := s.app.Group("/api/v1")
	if len(s.cfg.AllowedOrigins) > 0 {
		// The read API and the streams may be used from the allowed
		// origins; credentials (the token cookie) only when they are
		// listed by name, never with "*".
		any := slices.Contains(s.cfg.AllowedOrigins, "*")
		api.Use(cors.New(cors.Config{
			AllowOrigins:     strings.Join(s.cfg.AllowedOrigins, ","),
			AllowMethods:     "GET,HEAD,OPTIONS",
			AllowHeaders:     "Authorization,Last-Event-ID,Content-Type",
			AllowCredentials: !any,
		}))
	}
	api.Get("/docs/:collection", s.listDocs)
	api.Get("/docs/:collection/:id", s.getSnapshot)
	api.Get("/docs/:collection/:id/ops", s.getOps)
	api.Get("/docs/:collection/:id/events", s.events(false))
	api.Get("/docs/:collection/:id/presence", s.events(true))
}

func apiCtx(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 15*time.Second)
}

func storeError(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		status := fiber.StatusBadRequest
		if pe.Code == protocol.ErrStoreUnavailable {
			status = fiber.StatusServiceUnavailable
		}
		return apiError(status, pe.Code, pe.Message)
	}
	if errors.Is(err, storage.ErrMissingOps) {
		return apiError(fiber.StatusNotFound, "ERR_MISSING_OPS", err.Error())
	}
	return apiError(fiber.StatusServiceUnavailable, protocol.ErrStoreUnavailable, err.Error())
}

// intQuery parses an optional non-negative integer query parameter.
func intQuery(c *fiber.Ctx, name string, def int64) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, apiError(fiber.StatusBadRequest, protocol.ErrMessageBadlyFormed, name+" must be a non-negative integer")
	}
	return n, nil
}

func (s *Server) getSnapshot(c *fiber.Ctx) error {
	coll, id, _, err := s.readable(c, true)
	if err != nil {
		return err
	}
	ctx, cancel := apiCtx(c)
	defer cancel()
	var snap struct {
		V    int64           `json:"v"`
		Type *string         `json:"type"`
		Data json.RawMessage `json:"data,omitempty"`
	}
	switch {
	case c.Query("v") != "" || c.Query("ts") != "":
		var v, ts *int64
		if c.Query("v") != "" {
			n, err := intQuery(c, "v", 0)
			if err != nil {
				return err
			}
			v = &n
		}
		if c.Query("ts") != "" {
			n, err := intQuery(c, "ts", 0)
			if err != nil {
				return err
			}
			ts = &n
		}
		h, perr := s.cfg.Manager.SnapshotAt(ctx, coll, id, v, ts)
		if perr != nil {
			return storeError(perr)
		}
		snap.V, snap.Data = h.V, h.Data
		if h.Type != "" {
			snap.Type = &h.Type
		}
	default:
		cur, err := s.cfg.Store.Snapshot(ctx, coll, id)
		if err != nil {
			return storeError(err)
		}
		snap.V, snap.Data = cur.V, cur.Data
		if cur.Type != "" {
			snap.Type = &cur.Type
		}
	}
	if snap.V == 0 && snap.Type == nil {
		return apiError(fiber.StatusNotFound, protocol.ErrDocDoesNotExist, "document "+coll+"/"+id+" does not exist")
	}
	return c.JSON(snap)
}

// opJSON is one op in the op log listing.
type opJSON struct {
	V      int64           `json:"v"`
	Src    string          `json:"src"`
	Seq    int64           `json:"seq"`
	Op     json.RawMessage `json:"op,omitempty"`
	Create *createJSON     `json:"create,omitempty"`
	Del    bool            `json:"del,omitempty"`
	M      struct {
		TS int64 `json:"ts"`
	} `json:"m"`
}

type createJSON struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

func (s *Server) getOps(c *fiber.Ctx) error {
	coll, id, _, err := s.readable(c, true)
	if err != nil {
		return err
	}
	from, err := intQuery(c, "from", 0)
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit", 100)
	if err != nil {
		return err
	}
	limit = max(1, min(limit, 1000))
	ctx, cancel := apiCtx(c)
	defer cancel()
	cur, err := s.cfg.Store.Snapshot(ctx, coll, id)
	if err != nil {
		return storeError(err)
	}
	to, err := intQuery(c, "to", cur.V)
	if err != nil {
		return err
	}
	if cur.V == 0 && cur.Type == "" {
		return apiError(fiber.StatusNotFound, protocol.ErrDocDoesNotExist, "document "+coll+"/"+id+" does not exist")
	}
	to = min(to, cur.V)
	end := min(to, from+limit)
	out := struct {
		Ops  []opJSON `json:"ops"`
		Next *int64   `json:"next"`
	}{Ops: []opJSON{}}
	if from < end {
		ops, err := s.cfg.Store.Ops(ctx, coll, id, from, end)
		if err != nil {
			return storeError(err)
		}
		for _, op := range ops {
			j := opJSON{V: op.V, Src: op.Src, Seq: op.Seq, Op: op.Op, Del: op.Del}
			if op.Create != nil {
				j.Create = &createJSON{Type: op.Create.Type, Data: op.Create.Data}
			}
			j.M.TS = op.Meta.TS
			out.Ops = append(out.Ops, j)
		}
	}
	if end < to {
		out.Next = &end
	}
	return c.JSON(out)
}

func (s *Server) listDocs(c *fiber.Ctx) error {
	coll, _, _, err := s.readable(c, false)
	if err != nil {
		return err
	}
	lister, ok := s.cfg.Store.(storage.Lister)
	if !ok {
		return apiError(fiber.StatusNotImplemented, "ERR_NOT_SUPPORTED", "this store cannot list documents")
	}
	limit, err := intQuery(c, "limit", 100)
	if err != nil {
		return err
	}
	limit = max(1, min(limit, 1000))
	ctx, cancel := apiCtx(c)
	defer cancel()
	infos, err := lister.List(ctx, coll, c.Query("after"), int(limit)+1)
	if err != nil {
		return storeError(err)
	}
	type docJSON struct {
		ID      string          `json:"id"`
		V       int64           `json:"v"`
		Type    string          `json:"type"`
		MTime   int64           `json:"mtime"`
		Editors int             `json:"editors"`
		Data    json.RawMessage `json:"data,omitempty"`
	}
	out := struct {
		Docs []docJSON `json:"docs"`
		Next *string   `json:"next"`
	}{Docs: []docJSON{}}
	if len(infos) > int(limit) {
		infos = infos[:limit]
		next := infos[len(infos)-1].ID
		out.Next = &next
	}
	ids := make([]string, len(infos))
	for i, d := range infos {
		ids[i] = d.ID
	}
	counts := s.cfg.Manager.EditorCounts(coll, ids)
	var data []storage.Snapshot
	if c.Query("include") == "data" && len(ids) > 0 {
		if data, err = s.cfg.Store.Snapshots(ctx, coll, ids); err != nil {
			return storeError(err)
		}
	}
	for i, d := range infos {
		j := docJSON{ID: d.ID, V: d.V, Type: d.Type, MTime: d.MTime, Editors: counts[d.ID]}
		if data != nil {
			j.Data = data[i].Data
		}
		out.Docs = append(out.Docs, j)
	}
	return c.JSON(out)
}
