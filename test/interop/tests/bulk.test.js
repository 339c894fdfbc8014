'use strict';
// Bulk subscribe of 50 documents in one startBulk/endBulk: one `bs` message on the wire,
// every snapshot right, and later changes reach the subscriber. Also bulk fetch (`bf`)
// and re-subscribe with versions after a reconnect (`bs` with a version map).

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, stopAll, reportLogsOnFailure } = require('../lib/servers');
const C = require('../lib/client');
const { KITS } = require('../lib/types');

let server;
before(async () => { server = await startServer({ name: 'bulk' }); });
afterEach(reportLogsOnFailure);
after(async () => { await C.closeAll(); await stopAll(); });

const COLL = 'bulkdocs';
const N = 50;

test(`bulk subscribe of ${N} documents`, C.T, async () => {
  const prefix = `bulk-${Date.now()}`;
  const writer = await C.connect(server.url);
  // Mixed types; every 10th id is never created (must come back as a typeless v0 snapshot).
  const specs = [];
  for (let i = 0; i < N; i++) {
    const kit = KITS[i % KITS.length];
    specs.push({ id: `${prefix}-${String(i).padStart(2, '0')}`, kit, created: i % 10 !== 9 });
  }
  const writerDocs = new Map();
  await Promise.all(specs.filter((s) => s.created).map(async (s) => {
    const doc = writer.get(COLL, s.id);
    writerDocs.set(s.id, doc);
    await C.create(doc, s.kit.initial(), s.kit.name);
    // Give some docs more history so versions differ.
    const extra = Number(s.id.slice(-2)) % 4;
    for (let k = 0; k < extra; k++) await C.submitOp(doc, s.kit.markerOp(doc.data, `<w${k}>`, true));
  }));
  const expected = new Map();
  for (const s of specs) {
    const doc = writerDocs.get(s.id);
    expected.set(s.id, doc
      ? { v: doc.version, type: s.kit.uri, data: C.plain(doc.data) }
      : { v: 0, type: null, data: undefined });
  }

  const sub = await C.connect(server.url);
  const wire = C.recordWire(sub);
  sub.startBulk();
  const docs = specs.map((s) => sub.get(COLL, s.id));
  const subscribed = docs.map((d) => C.subscribe(d));
  sub.endBulk();
  await Promise.all(subscribed);

  const bulkSends = wire.sent.filter((m) => m.a === 'bs');
  assert.equal(bulkSends.length, 1, 'exactly one bs message');
  assert.deepEqual(wire.sent.filter((m) => m.a === 's'), [], 'no single subscribe');
  assert.equal(wire.sent.length, 1, 'nothing else was sent');
  assert.equal(bulkSends[0].c, COLL);
  assert.ok(Array.isArray(bulkSends[0].b), 'ids without versions go as an array');
  assert.deepEqual([...bulkSends[0].b].sort(), specs.map((s) => s.id).sort());

  const replies = wire.received.filter((m) => m.a === 'bs');
  assert.equal(replies.length, 1, 'one bs reply');
  assert.deepEqual(Object.keys(replies[0].data).sort(), specs.map((s) => s.id).sort(), 'reply has every id');
  // Wire encoding: json0 snapshots omit type, missing docs carry type null.
  for (const s of specs) {
    const item = replies[0].data[s.id];
    if (!s.created) assert.equal(item.type, null, `${s.id}: missing doc has "type": null`);
    else if (s.kit.name === 'json0') assert.ok(item.type === undefined || item.type === s.kit.uri, `${s.id}: json0 type omitted or URI`);
    else assert.equal(item.type, s.kit.uri, `${s.id}: type URI`);
  }

  for (const [i, doc] of docs.entries()) {
    const want = expected.get(specs[i].id);
    assert.equal(doc.version, want.v, `${doc.id} version`);
    assert.equal(doc.type ? doc.type.uri : null, want.type, `${doc.id} type`);
    assert.deepEqual(C.plain(doc.data), want.data, `${doc.id} data`);
    assert.equal(doc.subscribed, true);
  }

  // A change to one of them reaches the subscriber.
  const target = specs[17];
  const tdoc = docs[17];
  const gotOp = C.nextEvent(tdoc, 'op', 'subscriber receives op');
  const wdoc = writerDocs.get(target.id);
  await C.submitOp(wdoc, target.kit.markerOp(wdoc.data, '<live>', false));
  await gotOp;
  assert.equal(tdoc.version, wdoc.version);
  assert.deepEqual(C.plain(tdoc.data), C.plain(wdoc.data));
  // ...and a create of a previously missing one, too.
  const missing = specs[9];
  const mdoc = docs[9];
  const gotCreate = C.nextEvent(mdoc, 'create', 'subscriber receives create');
  await C.create(writer.get(COLL, missing.id), missing.kit.initial(), missing.kit.name);
  await gotCreate;
  assert.equal(mdoc.version, 1);
  assert.equal(mdoc.type.uri, missing.kit.uri);

  // Reconnect: the client re-subscribes all 50 in one bs with a version map; edits made
  // while it was away arrive as ops.
  C.dropSocket(sub);
  await C.waitFor(() => sub.state !== 'connected', { message: 'sub disconnected' });
  const w2 = writerDocs.get(specs[0].id);
  await C.submitOp(w2, specs[0].kit.markerOp(w2.data, '<away>', true));
  sub.bindToSocket(new C.WebSocket(sub.interopURL));
  const wire2 = C.recordWire(sub);
  await C.waitConnected(sub);
  await C.waitFor(() => docs[0].version === w2.version, { message: 'doc 0 caught up after reconnect' });
  await Promise.all(docs.map((d) => C.whenNothingPending(d)));
  const resub = wire2.sent.filter((m) => m.a === 'bs');
  assert.equal(resub.length, 1, 'one bs on reconnect');
  assert.equal(Array.isArray(resub[0].b), false, 'with versions: a map');
  assert.equal(Object.keys(resub[0].b).length, N);
  assert.equal(resub[0].b[specs[0].id], w2.version - 1);
  const bsReply = wire2.received.find((m) => m.a === 'bs');
  assert.ok(bsReply && bsReply.data === undefined, 'versioned bs reply carries no snapshots');
  const missedOp = wire2.received.findIndex((m) => m.a === 'op' && m.d === specs[0].id && m.v === w2.version - 1);
  assert.ok(missedOp >= 0 && missedOp < wire2.received.indexOf(bsReply), 'missed op sent before the bs reply');
  assert.deepEqual(C.plain(docs[0].data), C.plain(w2.data));
  assert.deepEqual(sub.errors, []);
});

test(`bulk fetch of ${N} documents`, C.T, async () => {
  const prefix = `bulkf-${Date.now()}`;
  const writer = await C.connect(server.url);
  const ids = [];
  await Promise.all(Array.from({ length: N }, async (_, i) => {
    const id = `${prefix}-${i}`;
    ids.push(id);
    await C.create(writer.get(COLL, id), { i });
  }));
  const reader = await C.connect(server.url);
  const wire = C.recordWire(reader);
  reader.startBulk();
  const fetched = ids.map((id) => C.fetchDoc(reader.get(COLL, id)));
  reader.endBulk();
  const docs = await Promise.all(fetched);
  assert.equal(wire.sent.length, 1);
  assert.equal(wire.sent[0].a, 'bf');
  assert.equal(wire.sent[0].b.length, N);
  for (const doc of docs) {
    assert.equal(doc.version, 1);
    assert.deepEqual(doc.data, { i: Number(doc.id.split('-').pop()) });
    assert.equal(doc.subscribed, false);
  }
});
