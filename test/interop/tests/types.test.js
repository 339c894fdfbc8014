'use strict';
// Per type (text-unicode, json0, rich-text): create / fetch / subscribe / del, and three
// connections editing the same doc concurrently converge to what the server holds.

const { describe, test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, stopAll, reportLogsOnFailure } = require('../lib/servers');
const C = require('../lib/client');
const { KITS } = require('../lib/types');

let server;
before(async () => { server = await startServer({ name: 'types' }); });
afterEach(reportLogsOnFailure);
after(async () => { await C.closeAll(); await stopAll(); });

const SEED = Number(process.env.INTEROP_SEED || 20240611);
const OPS_PER_CLIENT = Number(process.env.INTEROP_OPS || 80);

for (const kit of KITS) {
  describe(kit.name, () => {
    test('create, fetch, subscribe, op, del, re-create', C.T, async () => {
      const id = `basic-${Date.now()}`;
      const [a, b, c] = await Promise.all([C.connect(server.url), C.connect(server.url), C.connect(server.url)]);
      const docA = a.get(kit.collection, id);

      // A doc that was never created: version 0, no type, no data.
      await C.fetchDoc(docA);
      assert.equal(docA.version, 0);
      assert.equal(docA.type, null, 'a nonexistent doc has type null');
      assert.equal(docA.data, undefined, 'a nonexistent doc has no data');

      await C.create(docA, kit.initial(), kit.name);
      assert.equal(docA.version, 1);

      const docB = b.get(kit.collection, id);
      await C.fetchDoc(docB);
      assert.equal(docB.version, 1);
      assert.equal(docB.type && docB.type.uri, kit.uri);
      assert.deepEqual(C.plain(docB.data), C.plain(docA.data));

      await C.subscribe(docB);
      const gotOp = C.nextEvent(docB, 'op', 'B receives A\'s op');
      const marker = '[m1]';
      await C.submitOp(docA, kit.markerOp(docA.data, marker, true));
      const [, source] = await gotOp;
      assert.equal(source, false, 'the op reached B as a remote op');
      await C.waitFor(() => docB.version === 2, { message: 'B at version 2' });
      assert.equal(kit.countMarker(docB.data, marker), 1);
      assert.deepEqual(C.plain(docB.data), C.plain(docA.data));

      // A late subscriber gets the current snapshot.
      const docC = c.get(kit.collection, id);
      await C.subscribe(docC);
      assert.equal(docC.version, 2);
      assert.deepEqual(C.plain(docC.data), C.plain(docA.data));

      // Delete reaches the subscribers and leaves the doc typeless at version 3.
      const gotDel = C.nextEvent(docB, 'del', 'B receives the delete');
      await C.del(docA);
      await gotDel;
      await C.waitFor(() => docC.version === 3 && docC.type === null, { message: 'C sees the delete' });
      assert.equal(docB.type, null);
      assert.equal(docB.data, undefined);
      let snap = await C.serverSnapshot(server.url, kit.collection, id);
      assert.deepEqual(snap, { v: 3, type: null, data: undefined });

      // Re-create on top of the deleted doc.
      await C.create(docA, kit.initial(), kit.uri);
      await C.waitFor(() => docB.version === 4 && docC.version === 4, { message: 'subscribers see re-create' });
      assert.deepEqual(C.plain(docC.data), C.plain(docA.data));
      snap = await C.serverSnapshot(server.url, kit.collection, id);
      assert.deepEqual(snap, { v: 4, type: kit.uri, data: C.plain(docA.data) });

      // Creating an existing doc from a connection that has not seen it fails cleanly.
      const d2 = await C.connect(server.url);
      const err = await C.rejectionOf(C.create(d2.get(kit.collection, id), kit.initial(), kit.name));
      assert.equal(err.code, 'ERR_DOC_ALREADY_CREATED');

      for (const conn of [a, b, c]) assert.deepEqual(conn.errors, []);
    });

    test(`three connections editing concurrently converge (seed ${SEED}, ${OPS_PER_CLIENT} ops each)`, C.T, async () => {
      const id = `conv-${Date.now()}`;
      const rng = C.prng(SEED + kit.name.length);
      const writer = await C.connect(server.url);
      await C.create(writer.get(kit.collection, id), kit.initial(), kit.name);
      C.closeConnection(writer);

      const conns = await Promise.all([0, 1, 2].map(() => C.connect(server.url)));
      const docs = conns.map((c) => c.get(kit.collection, id));
      await Promise.all(docs.map((d) => C.subscribe(d)));
      // Every submitOp goes over the wire as its own op (no client-side compose of queued
      // ops), however fast or slow the server acks.
      for (const d of docs) d.preventCompose = true;

      const acks = [];
      const opErrors = [];
      let wireOps = 0;
      for (const conn of conns) conn.on('send', (m) => { if (m.a === 'op') wireOps++; });
      const remaining = [OPS_PER_CLIENT, OPS_PER_CLIENT, OPS_PER_CLIENT];
      let inFlightSeen = 0;
      // Remote ops that arrived while the receiver had its own op in flight: each one
      // means the server transformed one of the two against the other.
      let crossed = 0;
      for (const doc of docs) doc.on('before op', (op, source) => { if (!source && doc.inflightOp) crossed++; });
      while (remaining.some((n) => n > 0)) {
        const i = rng.int(3);
        if (remaining[i] === 0) continue;
        remaining[i]--;
        const doc = docs[i];
        if (docs.some((d, j) => j !== i && d.inflightOp)) inFlightSeen++;
        const op = kit.randomOp(rng, doc.data);
        acks.push(new Promise((resolve) => doc.submitOp(op, (err) => {
          if (err) opErrors.push({ client: i, op, err });
          resolve();
        })));
        // Interleave: mostly let the network move, sometimes submit back to back
        // (ops queue/compose behind the one in flight), sometimes wait longer.
        const r = rng.next();
        if (r < 0.25) continue;
        if (r < 0.6) await new Promise((res) => setImmediate(res));
        else await C.sleep(rng.int(3));
      }
      await C.timed(Promise.all(acks), 'acks for every op', 30000);
      assert.deepEqual(opErrors, [], 'no op was rejected');
      assert.ok(inFlightSeen > 0, 'some ops were submitted while another client had an op in flight');
      assert.equal(wireOps, 3 * OPS_PER_CLIENT, 'every op went over the wire');
      assert.ok(crossed >= 10, `ops crossed in flight (${crossed})`);
      console.log(`[interop] ${kit.name}: ${wireOps} op messages on the wire, ${crossed} crossed in flight`);

      const truth = await C.serverSnapshot(server.url, kit.collection, id);
      assert.equal(truth.type, kit.uri);
      await C.waitFor(() => docs.every((d) => d.version === truth.v), {
        timeoutMs: 10000,
        message: `every client at server version ${truth.v} (have ${docs.map((d) => d.version)})`,
      });
      for (const [i, doc] of docs.entries()) {
        assert.equal(doc.hasWritePending(), false, `client ${i} has nothing pending`);
        assert.equal(doc.version, truth.v, `client ${i} version`);
        assert.deepEqual(C.plain(doc.data), truth.data, `client ${i} data equals the server snapshot`);
      }
      for (const conn of conns) assert.deepEqual(conn.errors, []);
    });
  });
}
