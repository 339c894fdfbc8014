'use strict';
// nf / nt: connection.fetchSnapshot(c, id, v) and fetchSnapshotByTimestamp(c, id, ts)
// return the right historic snapshots (including across a delete and re-create), and a
// version beyond the current one is ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT.

const { describe, test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, stopAll, reportLogsOnFailure } = require('../lib/servers');
const C = require('../lib/client');
const { KITS } = require('../lib/types');

let server;
before(async () => { server = await startServer({ name: 'history' }); });
afterEach(reportLogsOnFailure);
after(async () => { await C.closeAll(); await stopAll(); });

const GAP_MS = 6; // sleep on each side of a recorded timestamp so op timestamps are distinct

for (const kit of KITS) {
  describe(kit.name, () => {
    test('nf and nt return the historic snapshots', C.T, async () => {
      const id = `hist-${Date.now()}`;
      const conn = await C.connect(server.url);
      const reader = await C.connect(server.url);
      const doc = conn.get(kit.collection, id);

      // history[v] = {type, data} after version v; times[v] = a moment when v was current.
      const history = [{ type: null, data: undefined }];
      const times = [];
      const mark = async () => {
        await C.sleep(GAP_MS);
        times.push(Date.now());
        await C.sleep(GAP_MS);
      };
      const record = () => {
        assert.equal(doc.version, history.length, 'one version per step');
        history.push(doc.type ? { type: kit.uri, data: C.plain(doc.data) } : { type: null, data: undefined });
      };

      await mark(); // times[0]: before the doc exists
      await C.create(doc, kit.initial(), kit.name); record(); await mark();
      for (let i = 0; i < 3; i++) {
        await C.submitOp(doc, kit.markerOp(doc.data, `<e${i}>`, i % 2 === 0)); record(); await mark();
      }
      await C.del(doc); record(); await mark();
      await C.create(doc, kit.initial(), kit.name); record(); await mark();
      await C.submitOp(doc, kit.markerOp(doc.data, '<last>', true)); record(); await mark();
      const current = doc.version;
      assert.equal(current, 7);

      // nf at every version 0..current, and with v null (= current).
      for (let v = 0; v <= current; v++) {
        const snap = await C.fetchSnapshot(reader, kit.collection, id, v);
        assert.equal(snap.v, v, `nf ${v}: version`);
        assert.equal(snap.type, history[v].type, `nf ${v}: type`);
        assert.deepEqual(C.plain(snap.data), history[v].data, `nf ${v}: data`);
      }
      const latest = await C.fetchSnapshot(reader, kit.collection, id, null);
      assert.equal(latest.v, current);
      assert.deepEqual(C.plain(latest.data), history[current].data);

      // nf beyond the current version.
      for (const v of [current + 1, current + 100]) {
        const err = await C.rejectionOf(C.fetchSnapshot(reader, kit.collection, id, v));
        assert.equal(err.code, 'ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT', `nf ${v}`);
      }

      // nt at a moment inside each version's lifetime.
      for (let v = 0; v <= current; v++) {
        const snap = await C.fetchSnapshotByTimestamp(reader, kit.collection, id, times[v]);
        assert.equal(snap.v, v, `nt at times[${v}]: version`);
        assert.equal(snap.type, history[v].type, `nt at times[${v}]: type`);
        assert.deepEqual(C.plain(snap.data), history[v].data, `nt at times[${v}]: data`);
      }
      // nt null and in the future: current snapshot.
      for (const ts of [null, Date.now() + 60000]) {
        const snap = await C.fetchSnapshotByTimestamp(reader, kit.collection, id, ts);
        assert.equal(snap.v, current, `nt ${ts}`);
        assert.deepEqual(C.plain(snap.data), history[current].data);
      }
      // nt long before: nothing.
      const before0 = await C.fetchSnapshotByTimestamp(reader, kit.collection, id, times[0] - 3600 * 1000);
      assert.equal(before0.v, 0);
      assert.equal(before0.type, null);

      // Never-created doc.
      const none = await C.fetchSnapshot(reader, kit.collection, `${id}-none`, null);
      assert.equal(none.v, 0);
      assert.equal(none.type, null);
      assert.equal(none.data, undefined);
      const noneErr = await C.rejectionOf(C.fetchSnapshot(reader, kit.collection, `${id}-none`, 1));
      assert.equal(noneErr.code, 'ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT');

      for (const c of [conn, reader]) assert.deepEqual(c.errors, []);
    });
  });
}

test('nf/nt on the wire: reply echoes the request id and always carries type', C.T, async () => {
  const id = `hist-wire-${Date.now()}`;
  const conn = await C.connect(server.url);
  const doc = conn.get('jsons', id);
  await C.create(doc, { a: 1 });
  const wire = C.recordWire(conn);
  await C.fetchSnapshot(conn, 'jsons', id, 1);
  await C.fetchSnapshotByTimestamp(conn, 'jsons', id, null);
  const nf = wire.sent.find((m) => m.a === 'nf');
  const nt = wire.sent.find((m) => m.a === 'nt');
  assert.deepEqual(nf, { a: 'nf', id: nf.id, c: 'jsons', d: id, v: 1 });
  assert.deepEqual(nt, { a: 'nt', id: nt.id, c: 'jsons', d: id, ts: null });
  const nfReply = wire.received.find((m) => m.a === 'nf');
  const ntReply = wire.received.find((m) => m.a === 'nt');
  assert.equal(nfReply.id, nf.id, 'nf reply id is the request id');
  assert.equal(ntReply.id, nt.id, 'nt reply id is the request id');
  // json0 is omitted from f/s snapshots, but nf/nt always carry the type URI.
  assert.equal(nfReply.type, 'http://sharejs.org/types/JSONv0');
  assert.equal(ntReply.type, 'http://sharejs.org/types/JSONv0');
  assert.deepEqual(nfReply.data, { a: 1 });
  assert.equal(nfReply.v, 1);
});
