'use strict';
// TANDEM ONLY, and only with INTEROP_CLUSTER=1 (scripts/interop-cluster.sh): several
// `tandem serve` instances on one Redis and one MongoDB-wire server (lib/cluster.js).
//
// * editors on two instances converge, per type;
// * 30 clients over three instances, random concurrent edits on all three types, random
//   reconnects to a possibly different instance (same Connection: in-flight ops are resent
//   with the same src/seq): every client, every instance (fetch and read API) agree, and
//   every acknowledged op is in the op log exactly once;
// * SSE (`eventsource`): a viewer on one instance sees the snapshot, the live ops and the
//   presence of editors on another; a dropped viewer resumes with Last-Event-ID with nothing
//   missed or repeated; clear errors; with auth, a viewer token reads but cannot write;
// * kill -9 of an instance during edits loses no acknowledged op; its clients move to
//   another instance and everything converges;
// * an editor on a kill -9ed instance leaves viewers and other instances' clients within the
//   presence TTL (docs/api.md).

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { reportLogsOnFailure } = require('../lib/servers');
const { startCluster, stopAllClusters, clusterSkipReason, apiSnapshot, apiOps, getJSON, docPath } = require('../lib/cluster');
const { openViewer, startTcpProxy, lastEventIdOf, closeAllViewers } = require('../lib/sse');
const { OpBook, opLogProblems, captureClientWarnings, key, createDoc, subscribeKits, countResends } = require('../lib/track');
const { mongoReader } = require('../lib/mongoread');
const C = require('../lib/client');
const { KITS, rich } = require('../lib/types');
const jwt = require('../lib/jwt');
const richTextType = require('rich-text').type;

// INTEROP_CLUSTER_SERVER=reference runs the editing tests (not the SSE ones) against three
// ShareDB servers (refserver.js) instead, reading stored snapshots and op logs through
// sharedb-mongo: that proves the tests themselves.
const MODE = (process.env.INTEROP_CLUSTER_SERVER || 'tandem').toLowerCase();
const SKIP = clusterSkipReason({ needTandem: MODE === 'tandem' });
const SKIP_SSE = SKIP || (MODE !== 'tandem' && 'Tandem\'s SSE streams and read API; INTEROP_CLUSTER_SERVER=reference runs only the editing tests');
const SEED = Number(process.env.INTEROP_SEED || 20240611);
const CLIENTS = Number(process.env.INTEROP_CLUSTER_CLIENTS || 30);
const OPS = Number(process.env.INTEROP_CLUSTER_OPS || 30);
const KILL_AFTER = Number(process.env.INTEROP_CLUSTER_KILL_AFTER || 90); // acked ops before the kill
const LONG = { timeout: 150000 };

let cl; // three instances (tandem, or reference with INTEROP_CLUSTER_SERVER=reference)
let insts;
let reader; // sharedb-mongo on the cluster's database
const warnings = captureClientWarnings();
const RUN = `r${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

before(async () => {
  if (SKIP) return;
  cl = await startCluster(MODE === 'tandem' ? { tandem: 3, name: 'cluster' } : { reference: 3, name: 'refcluster' });
  insts = cl.instances;
  reader = mongoReader(cl.mongoDBURL);
});
afterEach(reportLogsOnFailure);
after(async () => {
  await closeAllViewers();
  await C.closeAll();
  if (reader) await reader.close();
  await stopAllClusters();
  if (warnings.size) console.log(`[interop] sharedb client warnings: ${JSON.stringify(Object.fromEntries(warnings))}`);
});

// The stored snapshot and the op log as an instance reports them: Tandem's read API, or for
// a ShareDB server what sharedb-mongo reads.
const stored = (s, c, id) => (s.kind === 'tandem' ? apiSnapshot(s.httpURL, c, id) : reader.snapshot(c, id));
const opLog = (s, c, id) => (s.kind === 'tandem' ? apiOps(s.httpURL, c, id) : reader.ops(c, id));

// Everything every instance says about c/id: the stored snapshot and a fresh fetch.
async function instanceViews(instances, c, id) {
  const out = [];
  for (const s of instances) {
    out.push({ name: s.name, how: s.kind === 'tandem' ? 'read API' : 'sharedb-mongo', snap: await stored(s, c, id) });
    out.push({ name: s.name, how: 'fetch', snap: await C.serverSnapshot(s.url, c, id) });
  }
  return out;
}

// Wait until every doc is at version v, then check each equals truth.
async function assertClientsAt(docs, truth, label) {
  try {
    await C.waitFor(() => docs.every((d) => d.version === truth.v), { timeoutMs: 15000, message: `${label}: every client at v${truth.v}` });
  } catch (err) {
    const behind = docs.map((d, i) => [i, d]).filter(([, d]) => d.version !== truth.v).map(([i, d]) => ({
      client: i, id: d.connection.id, url: d.connection.interopURL, state: d.connection.state, v: d.version,
      subscribed: d.subscribed, wantSubscribe: d.wantSubscribe, inflightSubscribe: !!d.inflightSubscribe,
      inflightFetch: d.inflightFetch.length, pendingFetch: d.pendingFetch.length, writePending: d.hasWritePending(),
      errors: d.connection.errors.map((e) => e.code || e.message),
    }));
    err.message += `; behind: ${JSON.stringify(behind)}`;
    throw err;
  }
  for (const [i, doc] of docs.entries()) {
    assert.equal(doc.hasWritePending(), false, `${label}: client ${i} has nothing pending`);
    assert.equal(doc.type && doc.type.uri, truth.type, `${label}: client ${i} type`);
    assert.deepEqual(C.plain(doc.data), truth.data, `${label}: client ${i} data equals the stored snapshot`);
  }
}

async function assertInstancesAgree(instances, c, id, truth, label) {
  for (const view of await instanceViews(instances, c, id)) {
    assert.deepEqual(view.snap, truth, `${label}: ${view.how} on ${view.name} equals the stored snapshot`);
  }
}

// Every instance's op log is right and reads the same.
async function assertOpLogs(instances, c, id, entries, expectVersion, label) {
  let first = null;
  for (const s of instances) {
    const ops = await opLog(s, c, id);
    assert.deepEqual(opLogProblems(ops, entries, { expectVersion }), [], `${label}: op log on ${s.name}`);
    if (first === null) first = ops;
    else assert.deepEqual(ops, first, `${label}: the op log reads the same on ${s.name}`);
  }
  return first;
}

// ---- two instances --------------------------------------------------------------------------

for (const kit of KITS) {
  test(`${kit.name}: editors on two instances converge`, { skip: SKIP, timeout: 60000 }, async () => {
    const id = `${RUN}-two-${kit.name}`;
    const [s0, s1] = insts;
    await createDoc(s0.url, kit, id);
    const a = await C.connect(s0.url);
    const b = await C.connect(s1.url);
    const docs = [a.get(kit.collection, id), b.get(kit.collection, id)];
    await Promise.all(docs.map((d) => C.subscribe(d)));
    for (const d of docs) d.preventCompose = true;
    let crossed = 0;
    const remote = [0, 0];
    docs.forEach((doc, i) => doc.on('before op', (op, source) => {
      if (!source) {
        remote[i]++;
        if (doc.inflightOp) crossed++;
      }
    }));
    const book = new OpBook();
    const rng = C.prng(SEED + 17 * kit.name.length);
    for (let k = 0; k < 2 * 40; k++) {
      const i = rng.int(2);
      book.submit(docs[i], kit.randomOp(rng, docs[i].data), { client: i });
      const r = rng.next();
      if (r < 0.3) continue;
      if (r < 0.6) await new Promise((res) => setImmediate(res));
      else await C.sleep(rng.int(4));
    }
    await book.settled();
    assert.deepEqual(book.entries.filter((e) => e.state !== 'acked').map((e) => `${e.err && e.err.code}: ${e.err && e.err.message}`), [], 'no op was rejected');
    assert.ok(remote[0] > 0 && remote[1] > 0, `both received the other's ops (${remote})`);
    assert.ok(crossed >= 5, `ops crossed in flight (${crossed}): the servers transformed`);
    // Then a marker from each in turn, while the other has nothing in flight: only its
    // subscription (over Redis, from the other instance) can bring it.
    for (const [from, to, marker] of [[0, 1, '<A>'], [1, 0, '<B>']]) {
      await C.whenNothingPending(docs[to]);
      const m = await book.submit(docs[from], kit.markerOp(docs[from].data, marker, from === 1)).done;
      assert.equal(m.src, [a, b][from].id, 'src is the Connection id');
      await C.waitFor(() => kit.countMarker(docs[to].data, marker) === 1, { message: `client ${to} receives ${marker} live` });
    }

    const truth = await stored(s0, kit.collection, id);
    assert.equal(truth.type, kit.uri);
    assert.equal(truth.v, 1 + book.entries.length, 'every op committed once');
    await assertClientsAt(docs, truth, kit.name);
    await assertInstancesAgree([s0, s1], kit.collection, id, truth, kit.name);
    await assertOpLogs([s0, s1], kit.collection, id, book.entries, truth.v, kit.name);
    for (const conn of [a, b]) assert.deepEqual(conn.errors, []);
    console.log(`[interop] ${kit.name} two instances: v${truth.v}, ${crossed} crossed in flight, remote ops ${remote}`);
    C.closeConnection(a);
    C.closeConnection(b);
  });
}

// ---- 30 clients, three instances, random reconnects -----------------------------------------

test(`${CLIENTS} clients on three instances: random edits on all types, random reconnects (seed ${SEED}, ${OPS} ops each)`, { skip: SKIP, ...LONG }, async () => {
  const started = Date.now();
  const ids = KITS.map((kit) => `${RUN}-many-${kit.name}`);
  for (const [ki, kit] of KITS.entries()) await createDoc(insts[ki % insts.length].url, kit, ids[ki]);

  const conns = [];
  for (let ci = 0; ci < CLIENTS; ci++) conns.push(await C.connect(insts[ci % insts.length].url));
  const docs = await subscribeKits(conns, ids);
  const resends = countResends(conns);
  const book = new OpBook();
  let reconnects = 0;
  let moved = 0;
  let offlineOps = 0;
  const clientLoop = async (ci) => {
    const rng = C.prng(SEED * 31 + ci);
    const conn = conns[ci];
    for (let k = 0; k < OPS; k++) {
      if (rng.chance(0.06)) {
        // Drop the socket (no close frame) and rebind the same Connection, maybe elsewhere.
        C.dropSocket(conn);
        await C.waitSocketClosed(conn);
        if (rng.chance(0.5)) {
          const ki = rng.int(KITS.length);
          const doc = docs[ci][ki];
          book.submit(doc, KITS[ki].randomOp(rng, doc.data), { client: ci, offline: true });
          offlineOps++;
          k++;
        }
        await C.sleep(rng.int(5));
        const target = rng.pick(insts);
        if (target.url !== conn.interopURL) moved++;
        await C.reconnect(conn, target.url);
        reconnects++;
      }
      const ki = rng.int(KITS.length);
      const doc = docs[ci][ki];
      book.submit(doc, KITS[ki].randomOp(rng, doc.data), { client: ci });
      const r = rng.next();
      if (r < 0.3) await new Promise((res) => setImmediate(res));
      else await C.sleep(rng.int(10));
    }
  };
  await Promise.all(conns.map((_, ci) => clientLoop(ci)));
  await book.settled('every op settles', 90000);
  const submittedIn = Date.now() - started;
  const failed = book.entries.filter((e) => e.state !== 'acked');
  assert.deepEqual(failed.map((e) => `client ${e.client} ${e.c}/${e.d}: ${e.err && e.err.code} ${e.err && e.err.message}`), [], 'every op acknowledged');
  assert.ok(reconnects >= CLIENTS / 2, `clients reconnected (${reconnects})`);
  assert.ok(resends.n >= 3, `in-flight ops were resent after reconnects (${resends.n})`);

  for (const [ki, kit] of KITS.entries()) {
    const id = ids[ki];
    const truth = await stored(insts[0], kit.collection, id);
    assert.equal(truth.type, kit.uri, `${kit.name}: stored type`);
    const entries = book.forDoc(kit.collection, id);
    assert.equal(truth.v, 1 + entries.length, `${kit.name}: the version counts every acknowledged op once`);
    await assertClientsAt(docs.map((row) => row[ki]), truth, kit.name);
    await assertInstancesAgree(insts, kit.collection, id, truth, kit.name);
    await assertOpLogs(insts, kit.collection, id, entries, truth.v, kit.name);
    // What ShareDB itself would read from this database.
    if (MODE === 'tandem') assert.deepEqual(await reader.snapshot(kit.collection, id), truth, `${kit.name}: sharedb-mongo reads the same snapshot`);
  }
  for (const conn of conns) assert.deepEqual(conn.errors, []);
  console.log(`[interop] ${CLIENTS} clients: ${book.entries.length} ops (${offlineOps} submitted while disconnected), ${reconnects} reconnects (${moved} to another instance), ${resends.n} ops resent; submitted+acked in ${submittedIn} ms, total ${Date.now() - started} ms`);
  for (const conn of conns) C.closeConnection(conn);
});

// ---- SSE viewers ----------------------------------------------------------------------------

const eventsURL = (s, c, id) => `${s.httpURL}${docPath(c, id)}/events`;
const withQuery = (url, q) => url + (url.includes('?') ? '&' : '?') + q;
const presenceOf = (viewer, kind, pred = () => true) => (e) => e.type === 'presence' && e.data.type === kind && pred(e.data);

// Replay a viewer's events: one snapshot, then op events whose versions continue it with no
// gap and no repeat. Returns the data after the last event and the problems found.
function replayViewer(viewer, type) {
  const problems = [];
  const snaps = viewer.events.filter((e) => e.type === 'snapshot');
  if (snaps.length !== 1) problems.push(`${snaps.length} snapshot events`);
  const snap = snaps[0];
  let v = snap.data.v;
  let data = snap.data.data;
  if (snap.id !== String(v)) problems.push(`snapshot id ${snap.id} for v${v}`);
  const seen = new Set();
  for (const e of viewer.events.filter((x) => x.type === 'op')) {
    const op = e.data;
    const k = key(op.src, op.seq);
    if (seen.has(k)) problems.push(`op ${k} (v${op.v}) received twice`);
    seen.add(k);
    if (op.v !== v) problems.push(`op event v${op.v} where v${v} was next`);
    if (e.id !== String(op.v + 1)) problems.push(`op event v${op.v} has id ${e.id}`);
    if (op.op !== undefined) data = type.apply(data, op.op);
    v = op.v + 1;
  }
  return { v, data: C.plain(data), seen, problems };
}

test('SSE: a viewer on instance B sees the snapshot, live ops and presence (join, move, leave) of editors on instance A', { skip: SKIP_SSE, timeout: 60000 }, async () => {
  const [A, B] = insts;
  const id = `${RUN}-sse-live`;
  await createDoc(A.url, rich, id);
  const viewer = openViewer(eventsURL(B, rich.collection, id));

  const snap = await viewer.next((e) => e.type === 'snapshot', 'snapshot');
  assert.equal(snap.id, '1');
  assert.deepEqual(snap.data, { v: 1, type: rich.uri, data: C.plain(await apiSnapshot(A.httpURL, rich.collection, id)).data });
  const set = await viewer.next(presenceOf(viewer, 'set'), 'presence set');
  assert.deepEqual(set.data.editors, [], 'nobody edits yet');
  assert.ok(viewer.events.indexOf(set) > viewer.events.indexOf(snap), 'snapshot first, then the presence set');

  // Ann and Bob open the document on instance A.
  const ann = await C.connect(withQuery(A.url, 'name=Ann&color=%23e91e63'));
  const docAnn = ann.get(rich.collection, id);
  await C.subscribe(docAnn);
  const annJoin = await viewer.next(presenceOf(viewer, 'join', (d) => d.editor.id === ann.id), 'Ann joins');
  assert.deepEqual(annJoin.data.editor, { id: ann.id, name: 'Ann', color: '#e91e63', cursor: null });
  const bob = await C.connect(withQuery(A.url, 'name=Bob&color=%233f51b5'));
  const docBob = bob.get(rich.collection, id);
  await C.subscribe(docBob);
  await viewer.next(presenceOf(viewer, 'join', (d) => d.editor.id === bob.id && d.editor.name === 'Bob'), 'Bob joins');

  // Ann's cursor, then a move.
  const presAnn = ann.getDocPresence(rich.collection, id);
  const localAnn = presAnn.create('ann-cursor');
  await C.submitPresence(localAnn, { index: 2, length: 3 });
  await viewer.next(presenceOf(viewer, 'update', (d) => d.editor.id === ann.id && JSON.stringify(d.editor.cursor) === '{"index":2,"length":3}'), 'Ann\'s cursor {2,3}');
  await C.submitPresence(localAnn, { index: 5, length: 0 });
  const moved = await viewer.next(presenceOf(viewer, 'update', (d) => d.editor.id === ann.id && d.editor.cursor && d.editor.cursor.index === 5), 'Ann\'s cursor moves to 5');
  assert.deepEqual(moved.data.editor, { id: ann.id, name: 'Ann', color: '#e91e63', cursor: { index: 5, length: 0 } });

  // Live ops of both editors, in version order, each with its src and seq.
  for (const d of [docAnn, docBob]) d.preventCompose = true;
  const book = new OpBook();
  const rng = C.prng(SEED + 5);
  for (let k = 0; k < 12; k++) {
    const d = k % 2 ? docBob : docAnn;
    book.submit(d, rich.randomOp(rng, d.data));
    if (k % 3 === 0) await C.sleep(2);
  }
  await book.settled();
  const truth = await apiSnapshot(A.httpURL, rich.collection, id);
  await viewer.next((e) => e.type === 'op' && e.id === String(truth.v), `op event up to v${truth.v}`);
  const replay = replayViewer(viewer, richTextType);
  assert.deepEqual(replay.problems, []);
  assert.equal(replay.v, truth.v);
  assert.deepEqual(replay.data, truth.data, 'snapshot + op events = the stored snapshot');
  for (const e of book.entries) assert.ok(replay.seen.has(key(e.src, e.seq)), `the viewer saw ${key(e.src, e.seq)}`);

  // Bob inserts before Ann's cursor: viewers see it shift with the text.
  await C.waitFor(() => docAnn.version === truth.v && docBob.version === truth.v, { message: 'editors up to date' });
  await C.submitPresence(localAnn, { index: 3, length: 1 });
  await viewer.next(presenceOf(viewer, 'update', (d) => d.editor.id === ann.id && JSON.stringify(d.editor.cursor) === '{"index":3,"length":1}'), 'Ann\'s cursor {3,1}');
  const before = viewer.events.length;
  await C.submitOp(docBob, [{ insert: 'XY' }]);
  const shifted = await viewer.nextAfter(before, presenceOf(viewer, 'update', (d) => d.editor.id === ann.id), 'Ann\'s cursor after Bob\'s insert');
  assert.deepEqual(shifted.data.editor.cursor, { index: 5, length: 1 }, 'Ann\'s cursor shifted by Bob\'s insert before it');
  assert.deepEqual(localAnn.value, { index: 5, length: 1 }, 'as Ann\'s own client moved it');

  // Bob leaves cleanly, Ann's connection drops without a close frame.
  C.closeConnection(bob);
  await viewer.next(presenceOf(viewer, 'leave', (d) => d.editor.id === bob.id), 'Bob leaves');
  C.dropSocket(ann);
  const annLeave = await viewer.next(presenceOf(viewer, 'leave', (d) => d.editor.id === ann.id), 'Ann leaves');
  assert.deepEqual(annLeave.data.editor, { id: ann.id });
  assert.deepEqual(viewer.errors, [], 'the stream never broke');
  assert.equal(viewer.events.filter(presenceOf(viewer, 'join')).length, 2, 'two joins');
  assert.equal(viewer.events.filter(presenceOf(viewer, 'leave')).length, 2, 'two leaves');
  viewer.close();
  C.closeConnection(ann);
});

test('SSE: a dropped viewer resumes with Last-Event-ID (same instance, then another), nothing missed or repeated', { skip: SKIP_SSE, timeout: 60000 }, async () => {
  const [A, B, Cc] = insts;
  const id = `${RUN}-sse-resume`;
  await createDoc(A.url, rich, id);
  const proxy = await startTcpProxy(B.port);
  const viewer = openViewer(`${proxy.httpURL}${docPath(rich.collection, id)}/events`);
  await viewer.next((e) => e.type === 'snapshot', 'snapshot');

  const ed = await C.connect(A.url);
  const doc = ed.get(rich.collection, id);
  await C.subscribe(doc);
  doc.preventCompose = true;
  const book = new OpBook();
  const rng = C.prng(SEED + 7);
  const edit = async (n) => {
    for (let k = 0; k < n; k++) book.submit(doc, rich.randomOp(rng, doc.data));
    await book.settled();
    return doc.version;
  };
  // (A snapshot event with that id would be a failure too: replayViewer reports it.)
  const opEventUpTo = (v) => viewer.next((e) => (e.type === 'op' || e.type === 'snapshot') && e.id === String(v), `event with id ${v}`);

  let v = await edit(5);
  await opEventUpTo(v);

  for (const [round, target] of [[1, B], [2, Cc]]) {
    const lastSeen = viewer.events.filter((e) => e.id).pop().id;
    const errorsBefore = viewer.errors.length;
    proxy.block();
    proxy.cut();
    await C.waitFor(() => viewer.errors.length > errorsBefore, { message: `viewer notices the drop (round ${round})` });
    v = await edit(7); // the viewer is away
    proxy.retarget(target.port);
    const requestsBefore = proxy.requests.length;
    proxy.unblock();
    await opEventUpTo(v);
    const resumed = proxy.requests.slice(requestsBefore);
    assert.ok(resumed.length >= 1, 'the viewer came back');
    assert.equal(lastEventIdOf(resumed[resumed.length - 1]), lastSeen, `round ${round}: resumed with Last-Event-ID ${lastSeen}`);
  }
  await C.sleep(100); // anything repeated after the last op would show up now
  const truth = await apiSnapshot(A.httpURL, rich.collection, id);
  assert.equal(truth.v, v);
  const replay = replayViewer(viewer, richTextType);
  assert.deepEqual(replay.problems, [], 'one snapshot, then every op exactly once in version order');
  assert.equal(replay.v, truth.v);
  assert.deepEqual(replay.data, truth.data);
  assert.equal(replay.seen.size, book.entries.length);
  assert.equal(viewer.opens, 3, 'opened three times');
  viewer.close();
  C.closeConnection(ed);
});

test('SSE and read API: unknown document 404, malformed names 400', { skip: SKIP_SSE, timeout: 30000 }, async () => {
  const B = insts[1];
  const unknown = `${RUN}-never-created`;
  for (const suffix of ['/events', '/presence', '']) {
    const { status, body } = await getJSON(`${B.httpURL}${docPath(rich.collection, unknown)}${suffix}`);
    assert.equal(status, 404, `GET …${suffix} of an unknown document`);
    assert.equal(body.error.code, 'ERR_DOC_DOES_NOT_EXIST');
  }
  for (const [c, id] of [[rich.collection, '__proto__'], ['__proto__', 'x'], [rich.collection, 'constructor']]) {
    for (const suffix of ['/events', '', '/ops']) {
      const { status, body } = await getJSON(`${B.httpURL}${docPath(c, id)}${suffix}`);
      assert.equal(status, 400, `GET ${docPath(c, id)}${suffix}`);
      assert.equal(body.error.code, 'ERR_MESSAGE_BADLY_FORMED');
      assert.match(body.error.message, /Invalid (id|collection)/);
    }
  }
  // The EventSource reports the status and gives up (no reconnect loop).
  const v404 = openViewer(eventsURL(B, rich.collection, unknown));
  const v400 = openViewer(eventsURL(B, rich.collection, '__proto__'));
  await C.waitFor(() => v404.errors.length && v400.errors.length, { message: 'EventSource errors' });
  await C.sleep(2500); // longer than the retry interval
  assert.deepEqual(v404.errors.map((e) => [e.code, e.readyState]), [[404, 2]]);
  assert.deepEqual(v400.errors.map((e) => [e.code, e.readyState]), [[400, 2]]);
  assert.equal(v404.events.length + v400.events.length, 0);
});

test('SSE with auth: a viewer token streams and reads but cannot write; no token is 401', { skip: SKIP_SSE, timeout: 60000 }, async () => {
  const secret = 'cluster-secret-' + RUN;
  const acl = await startCluster({ tandem: 2, authSecret: secret, name: 'auth' });
  try {
    const [A, B] = acl.tandem;
    const exp = jwt.inSeconds(3600);
    const editorToken = jwt.sign({ sub: 'eve', name: 'Eve', color: '#009688', role: 'editor', exp }, secret);
    const viewerToken = jwt.sign({ sub: 'val', name: 'Val', color: '#ff9800', role: 'viewer', exp }, secret);
    const badToken = jwt.sign({ sub: 'eve', role: 'editor', exp }, secret + 'x');
    const id = `${RUN}-auth`;

    const eve = await C.connect(A.url, { token: editorToken });
    const docEve = eve.get(rich.collection, id);
    await C.create(docEve, rich.initial(), rich.name);
    await C.subscribe(docEve);

    const viewer = openViewer(eventsURL(B, rich.collection, id), { token: viewerToken });
    await viewer.next((e) => e.type === 'snapshot', 'snapshot');
    const set = await viewer.next(presenceOf(viewer, 'set'), 'presence set');
    // Eve is already there (the other instance announces her) or joins right after.
    await viewer.next((e) => (presenceOf(viewer, 'set')(e) && e.data.editors.some((x) => x.id === eve.id))
      || presenceOf(viewer, 'join', (d) => d.editor.id === eve.id)(e), 'Eve is listed');
    const eveSeen = [...set.data.editors, ...viewer.events.filter(presenceOf(viewer, 'join')).map((e) => e.data.editor)].find((x) => x.id === eve.id);
    assert.equal(eveSeen.name, 'Eve', 'the name comes from the token');
    assert.equal(eveSeen.color, '#009688');

    await C.submitOp(docEve, rich.markerOp(docEve.data, '<eve>', true));
    await viewer.next((e) => e.type === 'op' && e.data.src === eve.id, 'Eve\'s op');

    // The viewer token reads the API.
    const snap = await getJSON(`${B.httpURL}${docPath(rich.collection, id)}`, { token: viewerToken });
    assert.equal(snap.status, 200);
    assert.equal(snap.body.v, 2);
    const ops = await getJSON(`${B.httpURL}${docPath(rich.collection, id)}/ops`, { token: viewerToken });
    assert.equal(ops.status, 200);
    assert.equal(ops.body.ops.length, 2);
    const bearer = await getJSON(`${A.httpURL}${docPath(rich.collection, id)}`, { headers: { authorization: `Bearer ${viewerToken}` } });
    assert.equal(bearer.status, 200);

    // ... and over the WebSocket it reads but every write is ERR_FORBIDDEN.
    const val = await C.connect(A.url, { token: viewerToken });
    const docVal = val.get(rich.collection, id);
    await C.subscribe(docVal);
    assert.equal(docVal.version, 2);
    let err = await C.rejectionOf(C.submitOp(docVal, [{ insert: 'viewer was here' }]));
    assert.equal(err.code, 'ERR_FORBIDDEN');
    err = await C.rejectionOf(C.del(docVal));
    assert.equal(err.code, 'ERR_FORBIDDEN');
    err = await C.rejectionOf(C.create(val.get(rich.collection, `${id}-by-viewer`), rich.initial(), rich.name));
    assert.equal(err.code, 'ERR_FORBIDDEN');
    err = await C.rejectionOf(C.submitPresence(val.getDocPresence(rich.collection, id).create('val'), { index: 0, length: 0 }));
    assert.equal(err.code, 'ERR_FORBIDDEN');
    const after = await getJSON(`${A.httpURL}${docPath(rich.collection, id)}`, { token: editorToken });
    assert.deepEqual({ v: after.body.v, data: after.body.data }, { v: 2, data: C.plain(docEve.data) }, 'nothing changed');
    assert.equal((await getJSON(`${A.httpURL}${docPath(rich.collection, `${id}-by-viewer`)}`, { token: editorToken })).status, 404, 'the create did not happen');
    assert.equal(viewer.events.filter(presenceOf(viewer, 'join', (d) => d.editor.id === val.id)).length, 0, 'a viewer connection is not an editor');

    // No token, a bad token: 401 on the API and the stream.
    for (const token of [null, badToken]) {
      for (const suffix of ['', '/ops', '/events']) {
        const res = await getJSON(`${B.httpURL}${docPath(rich.collection, id)}${suffix}`, { token });
        assert.equal(res.status, 401, `GET …${suffix} with ${token ? 'a bad' : 'no'} token`);
        assert.equal(res.body.error.code, 'ERR_UNAUTHORIZED');
      }
    }
    const anon = openViewer(eventsURL(B, rich.collection, id));
    await C.waitFor(() => anon.errors.length, { message: 'anonymous EventSource fails' });
    assert.deepEqual(anon.errors.map((e) => [e.code, e.readyState]), [[401, 2]]);
    assert.equal(anon.events.length, 0);
    viewer.close();
    C.closeConnection(eve);
    C.closeConnection(val);
  } finally {
    await acl.stopAll();
  }
});

// ---- kill -9 ----------------------------------------------------------------------------------

test('kill -9 of an instance during edits loses no acknowledged op; its clients move and converge', { skip: SKIP, ...LONG }, async () => {
  const VICTIM = 1;
  const victim = insts[VICTIM];
  const ids = KITS.map((kit) => `${RUN}-kill-${kit.name}`);
  for (const [ki, kit] of KITS.entries()) await createDoc(insts[0].url, kit, ids[ki]);
  const conns = [];
  for (let ci = 0; ci < 9; ci++) conns.push(await C.connect(insts[ci % 3].url));
  const docs = await subscribeKits(conns, ids);

  const book = new OpBook();
  let killed = false;
  let stop = false;
  let n = 0;
  const rng = C.prng(SEED + 99);
  const pump = async (ci) => {
    while (!stop) {
      const ki = rng.int(KITS.length);
      const doc = docs[ci][ki];
      // At most two ops queued behind the one in flight: a steady stream the servers keep
      // up with, not an ever-growing backlog.
      if (doc.pendingOps.length < 2) {
        const marker = `<k${ci}-${++n}>`;
        book.submit(doc, KITS[ki].markerOp(doc.data, marker, rng.chance(0.5)), { marker, kit: KITS[ki], client: ci, beforeKill: !killed });
      }
      await C.sleep(rng.int(15));
    }
  };
  const pumps = conns.map((_, ci) => pump(ci));
  let ackedBeforeKill;
  let movedClients;
  try {
    await C.waitFor(() => book.entries.filter((e) => e.state === 'acked').length >= KILL_AFTER, { timeoutMs: 20000, message: `${KILL_AFTER} acknowledged ops` });
    killed = true;
    await cl.kill9(VICTIM);
    ackedBeforeKill = book.entries.filter((e) => e.state === 'acked').length;
    // The victim's clients notice and reconnect to one of the others.
    const orphans = conns.filter((conn) => conn.interopURL === victim.url);
    movedClients = orphans.length;
    await Promise.all(orphans.map(async (conn) => {
      await C.waitSocketClosed(conn);
      await C.reconnect(conn, rng.pick(insts.filter((s) => s !== victim)).url);
    }));
    await C.sleep(1500); // keep editing on the survivors
  } finally {
    stop = true;
    await Promise.all(pumps);
  }
  await book.settled('every op settles after the kill', 60000);
  const failed = book.entries.filter((e) => e.state !== 'acked');
  assert.deepEqual(failed.map((e) => `${e.marker}: ${e.err && e.err.code} ${e.err && e.err.message}`), [], 'every op acknowledged');

  const alive = insts.filter((s) => s !== victim);
  for (const [ki, kit] of KITS.entries()) {
    const id = ids[ki];
    const truth = await stored(alive[0], kit.collection, id);
    const entries = book.forDoc(kit.collection, id);
    const wrong = entries.filter((e) => kit.countMarker(truth.data, e.marker) !== 1);
    assert.deepEqual(wrong.map((e) => `${e.marker}${e.beforeKill ? ' (acked before the kill)' : ''} x${kit.countMarker(truth.data, e.marker)}`), [], `${kit.name}: every acknowledged marker exactly once`);
    assert.equal(truth.v, 1 + entries.length, `${kit.name}: version`);
    await assertClientsAt(docs.map((row) => row[ki]), truth, kit.name);
    await assertInstancesAgree(alive, kit.collection, id, truth, kit.name);
    await assertOpLogs(alive, kit.collection, id, entries, truth.v, kit.name);
  }
  // The victim comes back on the same store and agrees.
  await cl.restart(VICTIM);
  for (const [ki, kit] of KITS.entries()) {
    const truth = await stored(alive[0], kit.collection, ids[ki]);
    await assertInstancesAgree([victim], kit.collection, ids[ki], truth, `${kit.name} after restart`);
  }
  for (const conn of conns) assert.deepEqual(conn.errors, []);
  console.log(`[interop] kill -9: ${book.entries.length} ops, ${ackedBeforeKill} acknowledged before the kill, ${movedClients} clients moved`);
  for (const conn of conns) C.closeConnection(conn);
});

// ---- an editor on a dead instance leaves ----------------------------------------------------

test('an editor on a kill -9ed instance leaves viewers and other instances\' clients within the presence TTL (30 s, docs/api.md)', { skip: SKIP_SSE, timeout: 120000 }, async () => {
  // Instance 2 dies; the viewer and a ShareDB client are on instance 0. The phases are
  // arranged so that the kill comes right after instance 2 refreshed its editor roster.
  const A = insts[2];
  const B = insts[0];
  const id = `${RUN}-ttl`;
  const rosters = [];
  const redisSub = await redisSubscribe(cl.redisURL, `$tandem.editors.${rich.collection}.${id}`, (msg) => rosters.push({ at: Date.now(), msg: JSON.parse(msg) }));
  try {
    const t0 = Date.now(); // instance 2 opens the document now
    await createDoc(A.url, rich, id);
    const ghost = await C.connect(withQuery(A.url, 'name=Ghost'));
    await C.subscribe(ghost.get(rich.collection, id));
    const ghostPresence = ghost.getDocPresence(rich.collection, id);
    await C.subscribePresence(ghostPresence);

    await C.sleep(5000 - (Date.now() - t0)); // instance 0 opens it 5 s later
    const viewer = openViewer(eventsURL(B, rich.collection, id));
    const watcherConn = await C.connect(B.url);
    await C.subscribe(watcherConn.get(rich.collection, id));
    const watcher = watcherConn.getDocPresence(rich.collection, id);
    await C.subscribePresence(watcher);
    await C.submitPresence(ghostPresence.create('ghost-cursor'), { index: 1, length: 0 });
    await viewer.next((e) => e.type === 'presence' && [...(e.data.editors || []), e.data.editor].some((x) => x && x.id === ghost.id && x.cursor), 'the viewer sees Ghost\'s cursor');
    await C.waitFor(() => watcher.remotePresences['ghost-cursor'], { message: 'the client on instance 0 sees Ghost\'s cursor' });

    // Wait for a periodic roster refresh from instance 2 (not a reply to a request), then kill it.
    const seen = rosters.length;
    const refresh = await C.waitFor(() => rosters.slice(seen).find((r) => !r.msg.req && r.msg.editors.some((e) => e.id === ghost.id)), { timeoutMs: 25000, intervalMs: 2, message: 'a roster refresh from instance 2' });
    await cl.kill9(2);
    const killedAt = Date.now();
    const left = viewer.next(presenceOf(viewer, 'leave', (d) => d.editor.id === ghost.id), 'Ghost leaves', 50000).then(() => Date.now() - killedAt);
    const gone = C.waitFor(() => !watcher.remotePresences['ghost-cursor'], { timeoutMs: 50000, intervalMs: 20, message: 'Ghost\'s cursor gone' }).then(() => Date.now() - killedAt);
    const [leftAfter, goneAfter] = await Promise.all([left, gone]);
    console.log(`[interop] presence TTL: killed ${killedAt - refresh.at} ms after a roster refresh; the viewer saw Ghost leave after ${leftAfter} ms, the ShareDB client lost Ghost's cursor after ${goneAfter} ms (roster messages: ${rosters.map((r) => `+${r.at - t0}${r.msg.req ? 'req' : ''}`).join(' ')})`);
    for (const r of rosters) console.log(`[interop]   redis +${r.at - t0} ms $tandem.editors.${rich.collection}.${id}: ${JSON.stringify(r.msg)}`);
    for (const e of viewer.events.filter((x) => x.type === 'presence')) console.log(`[interop]   viewer +${e.at - t0} ms event: presence data: ${JSON.stringify(e.data)}`);
    console.log(`[interop]   kill -9 of instance 2 at +${killedAt - t0} ms`);
    viewer.close();
    C.closeConnection(watcherConn);
    assert.ok(leftAfter <= 31500, `the viewer saw the dead instance's editor leave ${leftAfter} ms after the kill; docs/api.md: "an editor whose instance dies leaves within the presence TTL (30 s)"`);
    assert.ok(goneAfter <= 31500, `the other instance's client lost the dead editor's cursor ${goneAfter} ms after the kill`);
  } finally {
    redisSub.close();
    await cl.restart(2);
  }
});

// A bare RESP SUBSCRIBE: onMessage(payload) for each message on channel.
function redisSubscribe(redisURL, channel, onMessage) {
  const net = require('node:net');
  const u = new URL(redisURL);
  const sock = net.connect(Number(u.port), u.hostname);
  let buf = Buffer.alloc(0);
  // Parse one RESP value at offset i; returns [value, next] or null when incomplete.
  const parse = (i) => {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return null;
    const kind = String.fromCharCode(buf[i]);
    const line = buf.toString('utf8', i + 1, eol);
    if (kind === '*') {
      const out = [];
      let j = eol + 2;
      for (let k = 0; k < Number(line); k++) {
        const r = parse(j);
        if (!r) return null;
        out.push(r[0]);
        j = r[1];
      }
      return [out, j];
    }
    if (kind === '$') {
      const n = Number(line);
      if (buf.length < eol + 2 + n + 2) return null;
      return [buf.toString('utf8', eol + 2, eol + 2 + n), eol + 2 + n + 2];
    }
    return [line, eol + 2]; // + - :
  };
  return new Promise((resolve, reject) => {
    let subscribed = false;
    sock.on('error', reject);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const r = parse(0);
        if (!r) break;
        buf = buf.subarray(r[1]);
        const [v] = r;
        if (Array.isArray(v) && v[0] === 'subscribe' && !subscribed) {
          subscribed = true;
          resolve({ close: () => sock.destroy() });
        } else if (Array.isArray(v) && v[0] === 'message') {
          onMessage(v[2]);
        }
      }
    });
    sock.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n`);
  });
}
