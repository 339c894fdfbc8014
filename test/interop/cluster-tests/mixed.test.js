'use strict';
// TANDEM ONLY, and only with INTEROP_CLUSTER=1 (scripts/interop-cluster.sh).
//
// A mixed cluster: one `tandem serve` and one Node ShareDB server (refserver.js:
// sharedb@7.0.0 + sharedb-mongo@6.0.0 + sharedb-redis-pubsub@5.1.0) on the same Mongo
// database and the same Redis. A sharedb client on each edits the same documents
// concurrently, sees the other's ops live, and both end identical; the document reads the
// same through both servers and through Tandem's read API, whose op log (written partly by
// sharedb-mongo) holds every acknowledged op once. Creates, deletes and re-creates cross over
// too, and so does doc presence. (A team can move from ShareDB to Tandem one instance at a
// time.)

const { test, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { reportLogsOnFailure } = require('../lib/servers');
const { startCluster, stopAllClusters, clusterSkipReason, apiSnapshot } = require('../lib/cluster');
const { OpBook, checkOpLog, captureClientWarnings, createDoc, subscribeKits, countResends } = require('../lib/track');
const { mongoReader } = require('../lib/mongoread');
const C = require('../lib/client');
const { KITS, rich } = require('../lib/types');

const SKIP = clusterSkipReason();
const SEED = Number(process.env.INTEROP_SEED || 20240611);
const OPS = Number(process.env.INTEROP_MIXED_OPS || 30);
const RUN = `m${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

let cl;
let tandem;
let ref;
let reader; // sharedb-mongo on the same database: what ShareDB itself reads
const warnings = captureClientWarnings();
before(async () => {
  if (SKIP) return;
  cl = await startCluster({ tandem: 1, reference: 1, name: 'mixed' });
  [tandem] = cl.tandem;
  [ref] = cl.reference;
  reader = mongoReader(cl.mongoDBURL);
});
afterEach(reportLogsOnFailure);
after(async () => {
  await C.closeAll();
  if (reader) await reader.close();
  await stopAllClusters();
  if (warnings.size) console.log(`[interop] sharedb client warnings: ${JSON.stringify(Object.fromEntries(warnings))}`);
});

// Op log entries in one shape (JSON, m.ts only) for comparison.
const normOps = (ops) => ops.map((o) => JSON.parse(JSON.stringify({ v: o.v, src: o.src, seq: o.seq, op: o.op, create: o.create, del: o.del || undefined, ts: o.m && o.m.ts })));

// Both servers' fetch, Tandem's read API and sharedb-mongo's own read agree with truth.
async function assertEverywhere(kit, id, truth, label) {
  for (const [name, s] of [['tandem', tandem], ['reference', ref]]) {
    assert.deepEqual(await C.serverSnapshot(s.url, kit.collection, id), truth, `${label}: fetch through ${name}`);
  }
  assert.deepEqual(await apiSnapshot(tandem.httpURL, kit.collection, id), truth, `${label}: Tandem's read API`);
  assert.deepEqual(await reader.snapshot(kit.collection, id), truth, `${label}: sharedb-mongo's getSnapshot`);
}

for (const [ki, kit] of KITS.entries()) {
  test(`${kit.name}: a Tandem client and a ShareDB client edit concurrently and end identical`, { skip: SKIP, timeout: 60000 }, async () => {
    const id = `${RUN}-edit-${kit.name}`;
    const creator = ki % 2 ? ref : tandem;
    await createDoc(creator.url, kit, id);

    const t = await C.connect(tandem.url);
    const r = await C.connect(ref.url);
    const docs = [t.get(kit.collection, id), r.get(kit.collection, id)];
    await Promise.all(docs.map((d) => C.subscribe(d)));
    for (const d of docs) d.preventCompose = true;
    const remote = [0, 0];
    let crossed = 0;
    docs.forEach((doc, i) => doc.on('before op', (op, source) => {
      if (!source) {
        remote[i]++;
        if (doc.inflightOp) crossed++;
      }
    }));

    const book = new OpBook();
    const rng = C.prng(SEED + 101 * (ki + 1));
    for (let k = 0; k < 2 * OPS; k++) {
      const i = rng.int(2);
      book.submit(docs[i], kit.randomOp(rng, docs[i].data), { side: i });
      const x = rng.next();
      if (x < 0.3) continue;
      if (x < 0.6) await new Promise((res) => setImmediate(res));
      else await C.sleep(rng.int(4));
    }
    await book.settled();
    assert.deepEqual(book.entries.filter((e) => e.state !== 'acked').map((e) => `${e.err.code}: ${e.err.message}`), [], 'no op was rejected');
    assert.ok(remote[0] > 0 && remote[1] > 0, `both received the other's ops (${remote})`);
    assert.ok(crossed >= 5, `ops crossed in flight (${crossed}): the servers transformed`);
    // Then a marker from each side in turn, while the other has nothing in flight: only its
    // subscription can bring it.
    for (const [from, to, marker] of [[0, 1, '<from-tandem>'], [1, 0, '<from-sharedb>']]) {
      await C.whenNothingPending(docs[to]);
      await book.submit(docs[from], kit.markerOp(docs[from].data, marker, from === 1)).done;
      await C.waitFor(() => kit.countMarker(docs[to].data, marker) === 1, { message: `the ${to ? 'ShareDB' : 'Tandem'} client receives ${marker} live` });
    }

    const truth = await reader.snapshot(kit.collection, id);
    assert.equal(truth.type, kit.uri);
    assert.equal(truth.v, 1 + book.entries.length, 'every op committed once');
    await C.waitFor(() => docs.every((d) => d.version === truth.v), { message: `both clients at v${truth.v}` });
    assert.deepEqual(C.plain(docs[0].data), truth.data, 'the Tandem client equals the stored snapshot');
    assert.deepEqual(C.plain(docs[1].data), truth.data, 'the ShareDB client equals the stored snapshot');
    await assertEverywhere(kit, id, truth, kit.name);

    // The op log: Tandem's read API over ops written by both servers, and sharedb-mongo's own
    // getOps, hold the same ops, each acknowledged op once.
    const { ops, problems } = await checkOpLog(tandem.httpURL, kit.collection, id, book.entries, { expectVersion: truth.v });
    assert.deepEqual(problems, [], 'op log through Tandem');
    assert.deepEqual(normOps(ops), normOps(await reader.ops(kit.collection, id)), 'Tandem reads the op log as sharedb-mongo does');
    const bySide = [0, 1].map((i) => book.entries.filter((e) => e.side === i).length);
    for (const conn of [t, r]) assert.deepEqual(conn.errors, []);
    console.log(`[interop] mixed ${kit.name}: v${truth.v}, ops per side ${bySide}, ${crossed} crossed in flight, remote ops received ${remote}`);
    C.closeConnection(t);
    C.closeConnection(r);
  });
}

for (const kit of KITS) {
  for (const [from, to] of [['tandem', 'reference'], ['reference', 'tandem']]) {
    test(`${kit.name}: created on ${from}, deleted and re-created on ${to}`, { skip: SKIP, timeout: 45000 }, async () => {
      const id = `${RUN}-life-${kit.name}-${from}`;
      const A = from === 'tandem' ? tandem : ref;
      const B = from === 'tandem' ? ref : tandem;
      const a = await C.connect(A.url);
      const b = await C.connect(B.url);
      const docA = a.get(kit.collection, id);
      const docB = b.get(kit.collection, id);
      await C.subscribe(docA);
      await C.subscribe(docB);
      assert.equal(docA.type, null);

      const created = C.nextEvent(docB, 'create', `${to} sees the create`);
      await C.create(docA, kit.initial(), kit.name);
      await created;
      assert.equal(docB.version, 1);
      assert.deepEqual(C.plain(docB.data), C.plain(docA.data));

      const deleted = C.nextEvent(docA, 'del', `${from} sees the delete`);
      await C.del(docB);
      await deleted;
      assert.equal(docA.type, null);
      assert.equal(docA.version, 2);
      await assertEverywhere(kit, id, { v: 2, type: null, data: undefined }, `${kit.name} deleted`);

      const recreated = C.nextEvent(docA, 'create', `${from} sees the re-create`);
      await C.create(docB, kit.initial(), kit.uri);
      await recreated;
      assert.equal(docA.version, 3);

      const edited = C.nextEvent(docB, 'op', `${to} sees the edit after the re-create`);
      const book = new OpBook();
      docA.preventCompose = true;
      await book.submit(docA, kit.markerOp(docA.data, '<after>', true)).done;
      await edited;
      const truth = { v: 4, type: kit.uri, data: C.plain(docA.data) };
      assert.deepEqual(C.plain(docB.data), truth.data);
      assert.equal(docB.version, 4);
      await assertEverywhere(kit, id, truth, `${kit.name} re-created`);

      const { ops, problems } = await checkOpLog(tandem.httpURL, kit.collection, id, book.entries, { expectVersion: 4 });
      assert.deepEqual(problems, []);
      assert.deepEqual(normOps(ops), normOps(await reader.ops(kit.collection, id)), 'Tandem reads the op log as sharedb-mongo does');
      assert.deepEqual(ops.map((o) => (o.create ? 'create' : o.del ? 'del' : 'op')), ['create', 'del', 'create', 'op']);
      assert.deepEqual(ops.map((o) => o.src), [a.id, b.id, b.id, a.id], 'each op by the client that made it');
      // Creating it again from either side is refused: both see it exists.
      for (const s of [tandem, ref]) {
        const c = await C.connect(s.url);
        const err = await C.rejectionOf(C.create(c.get(kit.collection, id), kit.initial(), kit.name));
        assert.equal(err.code, 'ERR_DOC_ALREADY_CREATED', `create on ${s.kind}`);
        C.closeConnection(c);
      }
      for (const conn of [a, b]) assert.deepEqual(conn.errors, []);
      C.closeConnection(a);
      C.closeConnection(b);
    });
  }
}

test('rich-text doc presence crosses between Tandem and ShareDB clients', { skip: SKIP, timeout: 30000 }, async () => {
  const id = `${RUN}-presence`;
  const t = await C.connect(tandem.url);
  const r = await C.connect(ref.url);
  const docT = t.get(rich.collection, id);
  await C.create(docT, rich.initial(), rich.name);
  const docR = r.get(rich.collection, id);
  await C.subscribe(docR);
  await C.subscribe(docT);
  const presT = t.getDocPresence(rich.collection, id);
  const presR = r.getDocPresence(rich.collection, id);
  await C.subscribePresence(presT);
  await C.subscribePresence(presR);

  const atR = C.nextEvent(presR, 'receive', 'the ShareDB client receives the Tandem client\'s cursor');
  await C.submitPresence(presT.create('t-cursor'), { index: 2, length: 1 });
  const [idAtR, valueAtR] = await atR;
  assert.equal(idAtR, 't-cursor');
  assert.deepEqual(valueAtR, { index: 2, length: 1 });

  const atT = C.nextEvent(presT, 'receive', 'the Tandem client receives the ShareDB client\'s cursor');
  await C.submitPresence(presR.create('r-cursor'), { index: 4, length: 0 });
  const [idAtT, valueAtT] = await atT;
  assert.equal(idAtT, 'r-cursor');
  assert.deepEqual(valueAtT, { index: 4, length: 0 });
  for (const conn of [t, r]) assert.deepEqual(conn.errors, []);
});

test('clients move between ShareDB and Tandem with ops in flight; then the ShareDB server is killed and its clients move to Tandem', { skip: SKIP, timeout: 120000 }, async () => {
  const ids = KITS.map((kit) => `${RUN}-move-${kit.name}`);
  for (const [ki, kit] of KITS.entries()) await createDoc(ref.url, kit, ids[ki]);
  const N = 6;
  const conns = [];
  for (let ci = 0; ci < N; ci++) conns.push(await C.connect((ci % 2 ? tandem : ref).url));
  const docs = await subscribeKits(conns, ids);
  const resends = countResends(conns);

  const book = new OpBook();
  let crossings = 0;
  const other = (conn) => (conn.interopURL === ref.url ? tandem : ref);
  await Promise.all(conns.map(async (conn, ci) => {
    const rng = C.prng(SEED * 7 + ci);
    for (let k = 0; k < 20; k++) {
      const ki = rng.int(KITS.length);
      book.submit(docs[ci][ki], KITS[ki].randomOp(rng, docs[ci][ki].data), { client: ci });
      if (rng.chance(0.12)) {
        // Cut the connection right behind the op and come back on the other server.
        C.dropSocket(conn);
        await C.waitSocketClosed(conn);
        await C.reconnect(conn, other(conn).url);
        crossings++;
      }
      await C.sleep(rng.int(8));
    }
  }));
  // The ShareDB server dies with ops still in flight; its clients move to Tandem.
  const refIndex = cl.instances.indexOf(ref);
  const onRef = conns.filter((conn) => conn.interopURL === ref.url);
  await cl.kill9(refIndex);
  await Promise.all(onRef.map(async (conn) => {
    await C.waitSocketClosed(conn);
    await C.reconnect(conn, tandem.url);
  }));
  await book.settled('every op settles', 90000);
  assert.deepEqual(book.entries.filter((e) => e.state !== 'acked').map((e) => `${e.err.code}: ${e.err.message}`), [], 'every op acknowledged');
  assert.ok(crossings >= 3, `clients crossed between the servers (${crossings})`);

  await cl.restart(refIndex);
  for (const [ki, kit] of KITS.entries()) {
    const id = ids[ki];
    const entries = book.forDoc(kit.collection, id);
    const truth = await reader.snapshot(kit.collection, id);
    assert.equal(truth.v, 1 + entries.length, `${kit.name}: every op committed once`);
    await C.waitFor(() => docs.every((row) => row[ki].version === truth.v), { message: `${kit.name}: every client at v${truth.v}` });
    for (const row of docs) assert.deepEqual(C.plain(row[ki].data), truth.data, `${kit.name}: client equals the stored snapshot`);
    await assertEverywhere(kit, id, truth, kit.name);
    const { ops, problems } = await checkOpLog(tandem.httpURL, kit.collection, id, entries, { expectVersion: truth.v });
    assert.deepEqual(problems, [], `${kit.name}: op log through Tandem`);
    assert.deepEqual(normOps(ops), normOps(await reader.ops(kit.collection, id)), `${kit.name}: Tandem reads the op log as sharedb-mongo does`);
  }
  for (const conn of conns) assert.deepEqual(conn.errors, []);
  console.log(`[interop] mixed move: ${book.entries.length} ops, ${crossings} crossings between the servers, ${resends.n} ops resent, ${onRef.length} clients moved off the killed ShareDB server`);
});
