package loadtest

import (
	"bytes"
	"sync"

	"github.com/tandemhq/tandem/ot"
)

// Viewers of one document share their copies while they are identical.
// Every copy is an immutable snapshot, so a viewer that holds the same
// snapshot as another and receives the same op (byte for byte) would
// compute the same result: it takes the one already computed instead.
// Each viewer still follows exactly the events it received (a different
// op, or a different snapshot event, starts a copy of its own), so the
// verdict checks every viewer's copy as before; what is saved is the
// decoding and applying of each op once per viewer, which with thousands
// of viewers on a 2-core machine was most of the tester's work and
// crowded out the server it measures.

// snapNode is one copy of a document, shared by the viewers holding it.
type snapNode struct {
	snap ot.Snapshot

	mu    sync.Mutex // guards enc and edges
	enc   []byte     // the snapshot encoded, computed on demand
	edges []snapEdge // results of ops applied to this copy
}

type snapEdge struct {
	op   []byte
	node *snapNode
}

func (n *snapNode) encoded(typ ot.Type) ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.enc == nil {
		enc, err := typ.EncodeSnapshot(n.snap)
		if err != nil {
			return nil, err
		}
		n.enc = enc
	}
	return n.enc, nil
}

// viewerChain indexes a document's recent shared copies by version, so
// that a viewer receiving a snapshot joins the copy others hold.
type viewerChain struct {
	mu  sync.Mutex
	byV map[int64]*snapNode
}

// chainKeep is how many versions back a snapshot can join a shared copy.
const chainKeep = 256

func (c *viewerChain) put(v int64, n *snapNode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byV == nil {
		c.byV = make(map[int64]*snapNode)
	}
	if c.byV[v] == nil {
		c.byV[v] = n
		delete(c.byV, v-chainKeep)
	}
}

// join returns the shared copy for a snapshot received at version v: the
// one already indexed at v if it encodes to the same bytes, else a new one.
func (c *viewerChain) join(typ ot.Type, v int64, snap ot.Snapshot) *snapNode {
	enc, err := typ.EncodeSnapshot(snap)
	c.mu.Lock()
	n := c.byV[v]
	c.mu.Unlock()
	if n != nil && err == nil {
		if have, herr := n.encoded(typ); herr == nil && bytes.Equal(have, enc) {
			return n
		}
	}
	n = &snapNode{snap: snap}
	if err == nil {
		n.enc = enc
	}
	c.put(v, n)
	return n
}

// step applies op (JSON) to the copy n at version v, or returns the result
// another viewer already computed for the same op on the same copy.
func (c *viewerChain) step(typ ot.Type, n *snapNode, v int64, raw []byte) (*snapNode, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.edges {
		if bytes.Equal(e.op, raw) {
			return e.node, nil
		}
	}
	op, err := typ.DecodeOp(raw)
	if err != nil {
		return nil, err
	}
	snap, err := typ.Apply(n.snap, op)
	if err != nil {
		return nil, err
	}
	next := &snapNode{snap: snap}
	n.edges = append(n.edges, snapEdge{op: bytes.Clone(raw), node: next})
	c.put(v+1, next)
	return next, nil
}
