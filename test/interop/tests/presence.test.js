'use strict';
// rich-text doc presence: a cursor moves with concurrent edits (forwarded as is and
// transformed by the receiving client, and transformed by the server when it was submitted
// against an old version), and it goes away (null) when its connection disconnects.

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, stopAll, reportLogsOnFailure } = require('../lib/servers');
const C = require('../lib/client');

let server;
before(async () => { server = await startServer({ name: 'presence' }); });
afterEach(reportLogsOnFailure);
after(async () => { await C.closeAll(); await stopAll(); });

const COLL = 'richtexts';
const RICH = 'http://sharejs.org/types/rich-text/v1';


test('rich-text doc presence moves with concurrent edits and disappears on disconnect', C.T, async () => {
  const id = `pres-${Date.now()}`;
  const w = await C.connect(server.url);
  await C.create(w.get(COLL, id), [{ insert: '0123456789\n' }], 'rich-text');

  const [a, b, c] = await Promise.all([C.connect(server.url), C.connect(server.url), C.connect(server.url)]);
  const [docA, docB, docC] = [a, b, c].map((conn) => conn.get(COLL, id));
  await Promise.all([docA, docB, docC].map((d) => C.subscribe(d)));

  const presC = c.getDocPresence(COLL, id);
  const seenByC = [];
  presC.on('receive', (presenceId, value) => seenByC.push({ presenceId, value: C.plain(value) }));
  presC.on('error', (e) => c.errors.push(e));
  await C.subscribePresence(presC);
  const wireC = C.recordWire(c);

  const presA = a.getDocPresence(COLL, id);
  await C.subscribePresence(presA);
  const cursorA = presA.create('cursor-a');

  // 1. A puts its cursor on [5, 7).
  await C.submitPresence(cursorA, { index: 5, length: 2 });
  await C.waitFor(() => presC.remotePresences['cursor-a'], { message: 'C sees A\'s cursor' });
  assert.deepEqual(C.plain(presC.remotePresences['cursor-a']), { index: 5, length: 2 });
  const sentToC = wireC.received.find((m) => m.a === 'p' && m.id === 'cursor-a');
  assert.deepEqual(
    { ch: sentToC.ch, c: sentToC.c, d: sentToC.d, v: sentToC.v, t: sentToC.t, p: sentToC.p, pv: sentToC.pv, src: sentToC.src },
    { ch: `${COLL}.${id}`, c: COLL, d: id, v: 1, t: RICH, p: { index: 5, length: 2 }, pv: 0, src: a.id },
    'presence is forwarded to C with channel, doc, version, type and src',
  );

  // 2. B inserts 3 chars before the cursor: it moves to 8.
  await C.submitOp(docB, [{ retain: 2 }, { insert: 'XYZ' }]);
  await C.waitFor(() => docC.version === 2 && docA.version === 2, { message: 'A and C get B\'s op' });
  await C.waitFor(() => presC.remotePresences['cursor-a'] && presC.remotePresences['cursor-a'].index === 8,
    { message: `A's cursor moved to 8 at C (have ${JSON.stringify(presC.remotePresences['cursor-a'])})` });
  assert.deepEqual(C.plain(presC.remotePresences['cursor-a']), { index: 8, length: 2 });
  assert.deepEqual(C.plain(cursorA.value), { index: 8, length: 2 }, 'A\'s own cursor moved too');

  // 3. B inserts after the cursor and deletes before it, concurrently with A re-sending it.
  const bEdit = C.submitOp(docB, { ops: [{ delete: 1 }, { retain: 12 }, { insert: '!!' }] });
  const aResend = C.submitPresence(cursorA, { index: 8, length: 2 });
  await Promise.all([bEdit, aResend]);
  await C.waitFor(() => docC.version === 3, { message: 'C at version 3' });
  await C.waitFor(() => {
    const p = presC.remotePresences['cursor-a'];
    return p && p.index === 7 && p.length === 2;
  }, { message: `A's cursor at 7 at C (have ${JSON.stringify(presC.remotePresences['cursor-a'])})` });

  // 4. Server-side transform: D fetched the doc (no subscription) and is one version behind
  //    when it submits its cursor; the server transforms it to the latest version before
  //    broadcasting it (and acking it to D).
  // (D does not subscribe to the doc or to presence, so nothing - neither B's next op nor
  // another client's re-sent presence, which would make D fetch - can bring it up to date.)
  const d = await C.connect(server.url);
  const docD = d.get(COLL, id);
  await C.fetchDoc(docD);
  const presD = d.getDocPresence(COLL, id);
  const vD = docD.version;
  await C.submitOp(docB, [{ insert: 'QQ' }]);
  await C.waitFor(() => docC.version === vD + 1, { message: 'C got B\'s QQ insert' });
  assert.equal(docD.version, vD, 'D is one version behind');
  const wireD = C.recordWire(d);
  const cursorD = presD.create('cursor-d');
  await C.submitPresence(cursorD, { index: 3, length: 1 });
  const sentByD = wireD.sent.find((m) => m.a === 'p');
  assert.equal(sentByD.v, vD, 'D sent its presence at its old version');
  await C.waitFor(() => presC.remotePresences['cursor-d'], { message: 'C sees D\'s cursor' });
  const dAtC = wireC.received.find((m) => m.a === 'p' && m.id === 'cursor-d');
  assert.equal(dAtC.v, vD + 1, 'server forwarded D\'s presence at the latest version');
  assert.deepEqual(dAtC.p, { index: 5, length: 1 }, 'server transformed D\'s cursor past the QQ insert');
  assert.deepEqual(C.plain(presC.remotePresences['cursor-d']), { index: 5, length: 1 });
  const ackD = wireD.received.find((m) => m.a === 'p' && m.id === 'cursor-d');
  assert.equal(ackD.v, vD + 1, 'D\'s ack carries the transformed presence');
  assert.deepEqual(ackD.p, { index: 5, length: 1 });

  // A's cursor moved with that insert too.
  await C.waitFor(() => presC.remotePresences['cursor-a'] && presC.remotePresences['cursor-a'].index === 9,
    { message: `A's cursor at 9 (have ${JSON.stringify(presC.remotePresences['cursor-a'])})` });

  // 5. A's connection drops (no close frame): C sees A's presence go away.
  C.dropSocket(a);
  await C.waitFor(() => seenByC.some((e) => e.presenceId === 'cursor-a' && e.value === null),
    { message: 'C receives null for cursor-a' });
  assert.equal(presC.remotePresences['cursor-a'], undefined);
  const gone = wireC.received.filter((m) => m.a === 'p' && m.id === 'cursor-a' && m.p === null);
  assert.equal(gone.length, 1, 'one p:null on the wire');
  assert.equal(gone[0].ch, `${COLL}.${id}`);
  assert.equal(gone[0].src, a.id);

  // 6. A clean close removes a presence too.
  const presB = b.getDocPresence(COLL, id);
  await C.subscribePresence(presB);
  await C.submitPresence(presB.create('cursor-b'), { index: 0, length: 1 });
  await C.waitFor(() => presC.remotePresences['cursor-b'], { message: 'C sees B\'s cursor' });
  b.close();
  await C.waitFor(() => seenByC.some((e) => e.presenceId === 'cursor-b' && e.value === null),
    { message: 'C receives null for cursor-b' });

  assert.deepEqual(c.errors, []);
});

test('presence on a text-unicode doc is refused (type has no transformPresence)', C.T, async () => {
  const id = `pres-tu-${Date.now()}`;
  const a = await C.connect(server.url);
  const doc = a.get('texts', id);
  await C.create(doc, 'hello', 'text-unicode');
  await C.subscribe(doc);
  const pres = a.getDocPresence('texts', id);
  await C.subscribePresence(pres);
  const err = await C.rejectionOf(C.submitPresence(pres.create('c1'), { index: 1, length: 0 }));
  assert.equal(err.code, 'ERR_TYPE_DOES_NOT_SUPPORT_PRESENCE');
});
