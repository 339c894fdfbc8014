package sessions

import "github.com/tandemhq/tandem/protocol"

// query answers qf/qs/qu.
func (a *Agent) query(req *protocol.Request) *protocol.Error {
	if req.Action == protocol.ActionQueryUnsubscribe {
		a.send(protocol.NewObj(32).Str("a", req.Action).Raw("id", req.Get("id")).Bytes())
		return nil
	}
	return protocol.Errorf(protocol.ErrQueryNotSupported, "queries are not supported yet")
}
