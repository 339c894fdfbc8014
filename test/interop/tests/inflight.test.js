'use strict';
// A connection dropped with an op in flight reconnects (same Connection object: same id/src
// and seq) and the op is applied exactly once, whether
//   (a) the op frame never reached the server, or
//   (b) the server committed the op but the ack was lost.
// Runs for an edit (with another client's concurrent op committed during the outage) and
// for a create of a never-fetched doc (v:null, deduplicated through the snapshot's create
// metadata), for each type.

const { describe, test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, stopAll, reportLogsOnFailure } = require('../lib/servers');
const C = require('../lib/client');
const { KITS } = require('../lib/types');

let server;
let proxy;
before(async () => {
  server = await startServer({ name: 'inflight' });
  proxy = await C.startProxy(server.url);
});
afterEach(reportLogsOnFailure);
after(async () => { await C.closeAll(); await stopAll(); });

let n = 0;
const uniqueId = (prefix) => `${prefix}-${Date.now()}-${++n}`;

const isOpFrameFor = (id) => (m) => m.a === 'op' && m.d === id && ('op' in m || 'create' in m);
// An ack is an `op` message for our doc with our src/seq and no op/create/del body.
const isAckFor = (id, conn) => (m) => m.a === 'op' && m.d === id && m.src === conn.id &&
  typeof m.seq === 'number' && !('op' in m) && !('create' in m) && !('del' in m);

for (const kit of KITS) {
  describe(kit.name, () => {
    for (const mode of ['op frame lost', 'ack lost']) {
      test(`edit in flight, ${mode}: reconnect applies it exactly once`, C.T, async () => {
        const id = uniqueId('edit');
        const w = await C.connect(server.url);
        await C.create(w.get(kit.collection, id), kit.initial(), kit.name);

        const a = await C.connect(proxy.url); // through the proxy
        const b = await C.connect(server.url); // direct
        const docA = a.get(kit.collection, id);
        const docB = b.get(kit.collection, id);
        await Promise.all([C.subscribe(docA), C.subscribe(docB)]);
        assert.equal(docA.version, 1);
        const idBefore = a.id;

        const framesBefore = proxy.frames.length;
        const dropped = mode === 'op frame lost'
          ? proxy.dropNext('c2s', isOpFrameFor(id))
          : proxy.dropNext('s2c', isAckFor(id, a));
        let acked = false;
        const ackedP = C.submitOp(docA, kit.markerOp(docA.data, '<A>', true)).then(() => { acked = true; });
        const droppedMsg = await C.timed(dropped, `proxy: the frame to drop (${mode})`);
        await C.waitFor(() => a.state !== 'connected', { message: 'A sees the drop' });
        assert.equal(acked, false);
        // On disconnect the client puts its in-flight op back at the head of pendingOps.
        assert.ok(docA.hasWritePending(), 'A still holds the unacknowledged op');

        // What the server holds during the outage proves which case we are in.
        let snap = await C.serverSnapshot(server.url, kit.collection, id);
        if (mode === 'op frame lost') {
          assert.equal(snap.v, 1, 'the op did not reach the server');
          assert.equal(kit.countMarker(snap.data, '<A>'), 0);
        } else {
          assert.equal(droppedMsg.v, 1, 'the lost ack said: applied at version 1');
          assert.equal(snap.v, 2, 'the op was committed');
          assert.equal(kit.countMarker(snap.data, '<A>'), 1);
        }

        // Someone else edits while A is away.
        await C.submitOp(docB, kit.markerOp(docB.data, '<B>', false));

        await C.reconnect(a, proxy.url);
        assert.equal(a.id, idBefore, 'the Connection kept its id across the reconnect');
        await ackedP;

        snap = await C.serverSnapshot(server.url, kit.collection, id);
        assert.equal(snap.v, 3, 'create + A + B = version 3: nothing applied twice');
        assert.equal(kit.countMarker(snap.data, '<A>'), 1, 'A applied exactly once');
        assert.equal(kit.countMarker(snap.data, '<B>'), 1, 'B applied exactly once');
        await C.waitFor(() => docA.version === 3 && docB.version === 3, { message: 'A and B at version 3' });
        assert.equal(docA.hasWritePending(), false, 'A has nothing pending');
        assert.deepEqual(C.plain(docA.data), snap.data);
        assert.deepEqual(C.plain(docB.data), snap.data);

        // Wire: the resend carried the same seq and, now, the original src.
        const after = proxy.frames.slice(framesBefore);
        const sent = after.filter((f) => f.direction === 'c2s' && f.msg.a === 'op' && f.msg.d === id);
        assert.equal(sent.length, 2, 'sent once, resent once');
        assert.equal(sent[1].msg.seq, sent[0].msg.seq, 'resend keeps seq');
        assert.equal(sent[0].msg.src, undefined, 'first send has no src');
        assert.equal(sent[1].msg.src, idBefore, 'resend carries src');
        const acks = after.filter((f) => f.direction === 's2c' && isAckFor(id, a)(f.msg));
        assert.equal(acks.length, mode === 'op frame lost' ? 1 : 2);
        const ack = acks[acks.length - 1];
        if (mode === 'op frame lost') {
          // Transformed past B's op (v1) and committed at v2; B's op is sent before the ack.
          assert.equal(ack.msg.v, 2);
          const bOp = after.findIndex((f) => f.direction === 's2c' && f.msg.a === 'op' && f.msg.d === id && f.msg.src === b.id && f.msg.v === 1);
          assert.ok(bOp >= 0 && bOp < after.indexOf(ack), 'the op it was transformed against precedes the ack');
        } else {
          // Duplicate: acked with the version the original was committed at.
          assert.equal(ack.msg.v, 1, 'duplicate ack carries the original commit version');
        }
        for (const conn of [a, b]) assert.deepEqual(conn.errors, []);
      });

      test(`create in flight (never fetched, v:null), ${mode}: reconnect creates it exactly once`, C.T, async () => {
        const id = uniqueId('create');
        const a = await C.connect(proxy.url);
        const docA = a.get(kit.collection, id);
        const framesBefore = proxy.frames.length;
        const dropped = mode === 'op frame lost'
          ? proxy.dropNext('c2s', isOpFrameFor(id))
          : proxy.dropNext('s2c', isAckFor(id, a));
        let created = false;
        const createdP = C.create(docA, kit.initial(), kit.name).then(() => { created = true; });
        const droppedMsg = await C.timed(dropped, `proxy: the frame to drop (${mode})`);
        await C.waitFor(() => a.state !== 'connected', { message: 'A sees the drop' });
        assert.equal(created, false);

        let snap = await C.serverSnapshot(server.url, kit.collection, id);
        if (mode === 'op frame lost') {
          assert.deepEqual(snap, { v: 0, type: null, data: undefined });
        } else {
          assert.equal(droppedMsg.v, 0);
          assert.equal(snap.v, 1);
          // Another client edits the new doc while A is away.
          const b = await C.connect(server.url);
          const docB = b.get(kit.collection, id);
          await C.fetchDoc(docB);
          await C.submitOp(docB, kit.markerOp(docB.data, '<B>', false));
          C.closeConnection(b);
        }

        await C.reconnect(a, proxy.url);
        await createdP;
        assert.deepEqual(a.errors, [], 'no ERR_DOC_ALREADY_CREATED or other error');
        assert.equal(docA.hasWritePending(), false);
        assert.equal(docA.type && docA.type.uri, kit.uri);

        snap = await C.serverSnapshot(server.url, kit.collection, id);
        const expectV = mode === 'op frame lost' ? 1 : 2;
        assert.equal(snap.v, expectV);
        const sent = proxy.frames.slice(framesBefore).filter((f) => f.direction === 'c2s' && f.msg.a === 'op' && f.msg.d === id);
        assert.equal(sent.length, 2);
        assert.equal(sent[0].msg.v, null, 'create sent with v:null');
        assert.equal(sent[1].msg.v, null, 'create resent with v:null');
        const acks = proxy.frames.slice(framesBefore).filter((f) => f.direction === 's2c' && isAckFor(id, a)(f.msg));
        assert.equal(acks[acks.length - 1].msg.v, 0, 'create acked at version 0');

        // The client's doc catches up and matches the server.
        await C.fetchDoc(docA);
        assert.equal(docA.version, expectV);
        assert.deepEqual(C.plain(docA.data), snap.data);
        if (mode === 'ack lost') assert.equal(kit.countMarker(snap.data, '<B>'), 1);
      });
    }
  });
}
