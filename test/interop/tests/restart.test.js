'use strict';
// TANDEM ONLY (skipped with INTEROP_SERVER=reference, whose store is memory unless
// --mongo; INTEROP_REF_PERSIST=1 runs it against a file-backed reference store instead).
//
// Restart of the server with the bolt store loses nothing acknowledged: several clients
// edit docs of every type, each op inserting a unique marker; the server is restarted
// (SIGTERM, and separately SIGKILL) while ops are still being submitted; the SAME
// Connections reconnect, their unacknowledged ops are re-sent; afterwards every marker
// acknowledged before the restart is in the document exactly once, every other marker at
// most once (exactly once once acked), all clients converge, and history (nf) survived.

const { test, afterEach, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, stopAll, reportLogsOnFailure, serverPersists, serverKind } = require('../lib/servers');
const C = require('../lib/client');
const { KITS } = require('../lib/types');

afterEach(reportLogsOnFailure);
after(async () => { await C.closeAll(); await stopAll(); });

const SKIP = serverPersists() ? false
  : `tandem only: the ${serverKind()} server keeps documents in memory, so a restart loses them by design (set INTEROP_SERVER=tandem, or INTEROP_REF_PERSIST=1 to validate against a file-backed reference store)`;

const CLIENTS = 3;
const OPS_BEFORE = 10; // per client per doc, all acknowledged before the restart

for (const signal of ['SIGTERM', 'SIGKILL']) {
  test(`restart (${signal}) loses nothing acknowledged`, { skip: SKIP, timeout: 2 * C.TEST_TIMEOUT_MS }, async () => {
    const server = await startServer({ name: `restart-${signal}` });
    const rng = C.prng(signal.length * 7919);
    const prefix = `restart-${signal}-${Date.now()}`;

    const setup = await C.connect(server.url);
    const docIds = new Map(KITS.map((kit) => [kit.name, `${prefix}-${kit.name}`]));
    for (const kit of KITS) await C.create(setup.get(kit.collection, docIds.get(kit.name)), kit.initial(), kit.name);
    const initial = new Map(KITS.map((kit) => [kit.name, C.plain(setup.get(kit.collection, docIds.get(kit.name)).data)]));
    C.closeConnection(setup);

    const conns = [];
    for (let i = 0; i < CLIENTS; i++) conns.push(await C.connect(server.url));
    const docs = conns.map((conn) => KITS.map((kit) => conn.get(kit.collection, docIds.get(kit.name))));
    await Promise.all(docs.flat().map((d) => C.subscribe(d)));

    // marker -> {kit, state: 'pending'|'acked'|'error', ackedBeforeRestart}
    const markers = new Map();
    let restarting = false;
    let seq = 0;
    const vanished = new Set();
    const submitMarker = (ci, ki) => {
      const kit = KITS[ki];
      const doc = docs[ci][ki];
      if (!doc.type) { // the client learned that the doc does not exist (any more)
        vanished.add(kit.name);
        return;
      }
      const marker = `<c${ci}-${++seq}>`;
      const entry = { kit, state: 'pending', ackedBeforeRestart: false };
      markers.set(marker, entry);
      // Insert at the start or the end only, so concurrent inserts never split a marker.
      doc.submitOp(kit.markerOp(doc.data, marker, rng.chance(0.5)), (err) => {
        entry.state = err ? 'error' : 'acked';
        entry.error = err;
        if (!err && !restarting) entry.ackedBeforeRestart = true;
      });
    };

    // Phase 1: concurrent editing, everything acknowledged.
    for (let round = 0; round < OPS_BEFORE; round++) {
      for (let ci = 0; ci < CLIENTS; ci++) for (let ki = 0; ki < KITS.length; ki++) submitMarker(ci, ki);
      await C.sleep(rng.int(3));
    }
    await Promise.all(docs.flat().map((d) => C.whenNothingPending(d)));
    assert.ok([...markers.values()].every((m) => m.state === 'acked'), 'phase 1 all acknowledged');

    // Phase 2: keep submitting while the server goes down and comes back.
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        submitMarker(rng.int(CLIENTS), rng.int(KITS.length));
        await C.sleep(1);
      }
    })();
    let ackedBefore;
    try {
      await C.sleep(30);
      restarting = true; // acks from here on are not counted as "before the restart"
      await server.restart({ signal });
      ackedBefore = [...markers.entries()].filter(([, m]) => m.ackedBeforeRestart).map(([k]) => k);
      assert.ok(ackedBefore.length >= CLIENTS * KITS.length * OPS_BEFORE);
      for (const conn of conns) await C.reconnect(conn, server.url, { timeoutMs: 10000 });
      await C.sleep(30);
    } finally {
      stop = true;
      await pump;
    }
    await Promise.all(docs.flat().map((d) => C.whenNothingPending(d)));

    // First the claim itself: nothing acknowledged before the restart was lost or doubled.
    const truths = new Map();
    for (const kit of KITS) {
      const truth = await C.serverSnapshot(server.url, kit.collection, docIds.get(kit.name));
      truths.set(kit.name, truth);
      assert.equal(truth.type, kit.uri, `${kit.name}: the document exists after the restart`);
      const lost = [...markers.entries()]
        .filter(([k, m]) => m.kit === kit && m.ackedBeforeRestart && kit.countMarker(truth.data, k) !== 1);
      assert.deepEqual(lost.map(([k]) => `${k} x${kit.countMarker(truth.data, k)}`), [],
        `${kit.name}: every op acknowledged before the restart is present exactly once`);
    }

    // Then: the ops in flight across the restart were all acknowledged after the reconnect
    // (re-sent ones the dead server had committed are deduplicated, not applied twice).
    const errors = [...markers.entries()].filter(([, m]) => m.state !== 'acked');
    assert.deepEqual(errors.map(([k, m]) => `${k}: ${m.state} ${m.error && m.error.code}`), [], 'every op was acknowledged after the reconnect');
    assert.deepEqual([...vanished], [], 'no client lost a document');

    for (const [ki, kit] of KITS.entries()) {
      const id = docIds.get(kit.name);
      const truth = truths.get(kit.name);
      const wrong = [...markers.entries()].filter(([k, m]) => m.kit === kit && kit.countMarker(truth.data, k) !== 1);
      assert.deepEqual(wrong.map(([k]) => `${k} x${kit.countMarker(truth.data, k)}`), [], `${kit.name}: every marker exactly once`);

      await C.waitFor(() => docs.every((row) => row[ki].version === truth.v), { message: `${kit.name}: clients at v${truth.v}` });
      for (const row of docs) assert.deepEqual(C.plain(row[ki].data), truth.data, `${kit.name}: client converged`);

      // History survived the restart.
      const reader = await C.connect(server.url);
      const v1 = await C.fetchSnapshot(reader, kit.collection, id, 1);
      assert.deepEqual(C.plain(v1.data), initial.get(kit.name), `${kit.name}: nf v1 after restart`);
      C.closeConnection(reader);
    }
    for (const conn of conns) assert.deepEqual(conn.errors, []);
    console.log(`[interop] restart ${signal}: ${markers.size} markers, ${ackedBefore.length} acknowledged before the restart`);
  });
}
