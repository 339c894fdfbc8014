'use strict';
// Access control with HS256 JWTs (?token= on the WebSocket URL), on a server started with
// --auth-secret. Claims {sub, name, color, role, collections, docs, exp}; the effective
// role for collection c and doc d is docs[c][d], else collections[c], else role.
// editor: read and write. viewer: read (f, s, bf, bs, nf, nt, presence subscribe) but every
// write (op create/edit/del, presence submit) fails with ERR_FORBIDDEN and changes nothing.
// No token, bad signature, expired or malformed token: the connection is refused.

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startServer, stopAll, reportLogsOnFailure } = require('../lib/servers');
const C = require('../lib/client');
const { sign, inSeconds, b64url } = require('../lib/jwt');
const { KITS, rich } = require('../lib/types');

const SECRET = crypto.randomBytes(24).toString('hex');
let server;
before(async () => { server = await startServer({ name: 'auth', authSecret: SECRET }); });
afterEach(reportLogsOnFailure);
after(async () => { await C.closeAll(); await stopAll(); });

const claims = (extra) => ({ sub: 'u1', name: 'Test User', color: '#3366ff', exp: inSeconds(600), ...extra });
const token = (extra, secret = SECRET) => sign(claims(extra), secret);
const EDITOR = () => token({ sub: 'ed', role: 'editor' });
const VIEWER = () => token({ sub: 'vw', role: 'viewer' });

let n = 0;
const uid = (p) => `${p}-${Date.now()}-${++n}`;

async function editorCreate(kit, id, conn) {
  const c = conn || await C.connect(server.url, { token: EDITOR() });
  const doc = c.get(kit.collection, id);
  await C.create(doc, kit.initial(), kit.name);
  return doc;
}

// Try to connect and read an existing doc. Refused = the handshake never completes and no
// snapshot is read (the server closes the socket, or never answers).
async function attemptRead(tok, collection, id) {
  const conn = await C.connect(server.url, { token: tok, wait: false });
  let connected = false;
  let read = null;
  const readMessages = [];
  conn.on('connected', () => { connected = true; });
  conn.on('receive', (req) => {
    const m = req.data;
    if (m && (m.a === 'hs' || m.a === 'f' || m.a === 's' || m.a === 'op') && !m.error) readMessages.push(m.a);
  });
  conn.get(collection, id).fetch((err) => { read = err ? 'error' : 'ok'; });
  const closed = await Promise.race([
    C.waitSocketClosed(conn, 2000),
    C.waitFor(() => read !== null, { timeoutMs: 2100 }).then(() => false, () => false),
  ]);
  await C.sleep(100);
  C.closeConnection(conn);
  return { connected, read, closed, readMessages };
}

test('connections without a valid token are refused', C.T, async () => {
  const id = uid('secret');
  await editorCreate(KITS[1], id);

  const good = await attemptRead(EDITOR(), 'jsons', id);
  assert.equal(good.connected, true, 'control: a valid editor token connects');
  assert.equal(good.read, 'ok', 'control: and reads');

  const noneHeader = b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const noneBody = b64url(JSON.stringify(claims({ role: 'editor' })));
  const viewerParts = VIEWER().split('.');
  const cases = {
    'no token': null,
    'empty token': '',
    'bad signature': token({ role: 'editor' }, 'not-the-secret'),
    expired: token({ role: 'editor', exp: inSeconds(-60) }),
    malformed: 'not-a-jwt',
    'alg none': `${noneHeader}.${noneBody}.`,
    'tampered payload': `${viewerParts[0]}.${noneBody}.${viewerParts[2]}`,
  };
  for (const [name, tok] of Object.entries(cases)) {
    const r = await attemptRead(tok, 'jsons', id);
    assert.equal(r.connected, false, `${name}: must not complete the handshake`);
    assert.notEqual(r.read, 'ok', `${name}: must not read`);
    assert.deepEqual(r.readMessages, [], `${name}: no hs/f reply`);
  }
});

test('a viewer can read: f, s (live), bf, bs, nf, nt, presence subscribe', C.T, async () => {
  const ed = await C.connect(server.url, { token: EDITOR() });
  const ids = { json0: uid('vj'), 'text-unicode': uid('vt'), 'rich-text': uid('vr') };
  const edDocs = {};
  for (const kit of KITS) edDocs[kit.name] = await editorCreate(kit, ids[kit.name], ed);
  const vw = await C.connect(server.url, { token: VIEWER() });

  for (const kit of KITS) {
    const id = ids[kit.name];
    const fetched = await C.fetchDoc(vw.get(kit.collection, id));
    assert.equal(fetched.version, 1);
    assert.deepEqual(C.plain(fetched.data), C.plain(edDocs[kit.name].data), `${kit.name}: f`);
    const snap = await C.fetchSnapshot(vw, kit.collection, id, 1);
    assert.deepEqual(C.plain(snap.data), C.plain(edDocs[kit.name].data), `${kit.name}: nf`);
    const tsnap = await C.fetchSnapshotByTimestamp(vw, kit.collection, id, Date.now() + 1000);
    assert.equal(tsnap.v, 1, `${kit.name}: nt`);
  }

  // Live subscription: the editor's ops reach the viewer.
  const vdoc = vw.get('texts', ids['text-unicode']);
  await C.subscribe(vdoc);
  const gotOp = C.nextEvent(vdoc, 'op', 'viewer receives op');
  await C.submitOp(edDocs['text-unicode'], ['!']);
  await gotOp;
  assert.equal(vdoc.data, edDocs['text-unicode'].data);

  // Bulk fetch and bulk subscribe.
  const bulkIds = [uid('b'), uid('b'), uid('b')];
  for (const bid of bulkIds) await editorCreate(KITS[1], bid, ed);
  const vw2 = await C.connect(server.url, { token: VIEWER() });
  const wire = C.recordWire(vw2);
  vw2.startBulk();
  const bf = bulkIds.map((bid) => C.fetchDoc(vw2.get('jsons', bid)));
  vw2.endBulk();
  await Promise.all(bf);
  const vw3 = await C.connect(server.url, { token: VIEWER() });
  const wire3 = C.recordWire(vw3);
  vw3.startBulk();
  const bs = bulkIds.map((bid) => C.subscribe(vw3.get('jsons', bid)));
  vw3.endBulk();
  const bdocs = await Promise.all(bs);
  assert.equal(wire.sent[0].a, 'bf');
  assert.equal(wire3.sent[0].a, 'bs');
  for (const d of bdocs) assert.deepEqual(d.data, KITS[1].initial());

  // Presence subscribe: the viewer sees the editor's cursor.
  const rid = ids['rich-text'];
  const edPres = ed.getDocPresence(rich.collection, rid);
  await C.subscribe(ed.get(rich.collection, rid));
  const vwPres = vw.getDocPresence(rich.collection, rid);
  await C.subscribePresence(vwPres);
  await C.subscribePresence(edPres);
  await C.submitPresence(edPres.create('ed-cursor'), { index: 2, length: 0 });
  await C.waitFor(() => vwPres.remotePresences['ed-cursor'], { message: 'viewer sees the editor\'s cursor' });
  assert.deepEqual(C.plain(vwPres.remotePresences['ed-cursor']), { index: 2, length: 0 });

  for (const c of [ed, vw, vw2, vw3]) assert.deepEqual(c.errors, []);
});

test('a viewer cannot write: create, edit, del and presence submit fail with ERR_FORBIDDEN and change nothing', C.T, async () => {
  const ed = await C.connect(server.url, { token: EDITOR() });
  const vw = await C.connect(server.url, { token: VIEWER() });
  const wire = C.recordWire(vw);

  for (const kit of KITS) {
    const id = uid(`ro-${kit.name}`);
    const edDoc = await editorCreate(kit, id, ed);
    const before = await C.serverSnapshot(server.url, kit.collection, id, { token: EDITOR() });

    // edit
    const vdoc = vw.get(kit.collection, id);
    await C.subscribe(vdoc);
    const err = await C.rejectionOf(C.submitOp(vdoc, kit.markerOp(vdoc.data, '<viewer>', true)));
    assert.equal(err.code, 'ERR_FORBIDDEN', `${kit.name}: edit`);
    const reply = wire.received.find((m) => m.a === 'op' && m.d === id && m.error);
    assert.equal(reply.error.code, 'ERR_FORBIDDEN');
    assert.equal(typeof reply.seq, 'number', 'the error reply echoes the request (seq)');
    assert.equal(reply.c, kit.collection);

    // del
    const derr = await C.rejectionOf(C.del(vdoc));
    assert.equal(derr.code, 'ERR_FORBIDDEN', `${kit.name}: del`);

    const after = await C.serverSnapshot(server.url, kit.collection, id, { token: EDITOR() });
    assert.deepEqual(after, before, `${kit.name}: the doc did not change`);
    // The viewer's doc rolls back to the server state.
    await C.waitFor(() => vdoc.version === before.v && !vdoc.hasPending(), { message: `${kit.name}: viewer rolled back` });
    assert.deepEqual(C.plain(vdoc.data), before.data);
    assert.equal(edDoc.version, before.v);

    // create
    const newId = uid(`ro-new-${kit.name}`);
    const cerr = await C.rejectionOf(C.create(vw.get(kit.collection, newId), kit.initial(), kit.name));
    assert.equal(cerr.code, 'ERR_FORBIDDEN', `${kit.name}: create`);
    assert.deepEqual(await C.serverSnapshot(server.url, kit.collection, newId, { token: EDITOR() }),
      { v: 0, type: null, data: undefined }, `${kit.name}: not created`);
  }

  // presence submit
  const rid = uid('ro-pres');
  await editorCreate(rich, rid, ed);
  const edPres = ed.getDocPresence(rich.collection, rid);
  const edSeen = [];
  edPres.on('receive', (pid, value) => edSeen.push({ pid, value }));
  await C.subscribePresence(edPres);
  const vdoc = vw.get(rich.collection, rid);
  await C.subscribe(vdoc);
  const vwPres = vw.getDocPresence(rich.collection, rid);
  await C.subscribePresence(vwPres);
  const perr = await C.rejectionOf(C.submitPresence(vwPres.create('vw-cursor'), { index: 1, length: 0 }));
  assert.equal(perr.code, 'ERR_FORBIDDEN', 'presence submit');
  await C.sleep(100);
  assert.deepEqual(edSeen.filter((e) => e.pid === 'vw-cursor'), [], 'the editor saw no viewer presence');
  assert.equal(edPres.remotePresences['vw-cursor'], undefined);
});

test('effective role: docs[c][d] over collections[c] over role', C.T, async () => {
  const ed = await C.connect(server.url, { token: EDITOR() });
  const kit = KITS[1]; // json0, collection "jsons"
  const other = 'jsons2';
  const ids = { plain: uid('r'), ro: uid('r'), special: uid('r'), x: uid('r') };
  for (const id of Object.values(ids)) {
    await C.create(ed.get(kit.collection, id), kit.initial());
    await C.create(ed.get(other, id), kit.initial());
  }
  const tok = token({
    sub: 'mixed',
    role: 'viewer',
    collections: { [kit.collection]: 'editor' },
    docs: { [kit.collection]: { [ids.ro]: 'viewer' }, [other]: { [ids.special]: 'editor' } },
  });
  const conn = await C.connect(server.url, { token: tok });
  const tryEdit = async (c, id) => {
    const doc = conn.get(c, id);
    await C.fetchDoc(doc);
    try {
      await C.submitOp(doc, [{ p: ['count'], na: 1 }]);
      return 'ok';
    } catch (e) {
      return e.code;
    }
  };
  assert.equal(await tryEdit(kit.collection, ids.plain), 'ok', 'collections[c]=editor beats role=viewer');
  assert.equal(await tryEdit(kit.collection, ids.ro), 'ERR_FORBIDDEN', 'docs[c][d]=viewer beats collections[c]=editor');
  assert.equal(await tryEdit(other, ids.special), 'ok', 'docs[c][d]=editor beats role=viewer');
  assert.equal(await tryEdit(other, ids.x), 'ERR_FORBIDDEN', 'role=viewer applies elsewhere');

  // An editor token restricted on one collection.
  const conn2 = await C.connect(server.url, { token: token({ sub: 'ed2', role: 'editor', collections: { [other]: 'viewer' } }) });
  const d1 = conn2.get(other, ids.plain);
  await C.fetchDoc(d1);
  const e1 = await C.rejectionOf(C.submitOp(d1, [{ p: ['count'], na: 1 }]));
  assert.equal(e1.code, 'ERR_FORBIDDEN');
  const d2 = conn2.get(kit.collection, ids.x);
  await C.fetchDoc(d2);
  await C.submitOp(d2, [{ p: ['count'], na: 1 }]);

  const counts = {};
  for (const [c, id] of [[kit.collection, ids.plain], [kit.collection, ids.ro], [other, ids.special], [other, ids.x], [other, ids.plain], [kit.collection, ids.x]]) {
    counts[`${c}/${id === ids.plain ? 'plain' : id === ids.ro ? 'ro' : id === ids.special ? 'special' : 'x'}`] =
      (await C.serverSnapshot(server.url, c, id, { token: EDITOR() })).data.count;
  }
  assert.deepEqual(counts, {
    'jsons/plain': 1, 'jsons/ro': 0, 'jsons2/special': 1, 'jsons2/x': 0, 'jsons2/plain': 0, 'jsons/x': 1,
  });
});
