'use strict';
// Bookkeeping of submitted ops for the cluster tests: every op submitted through an OpBook
// remembers the src and seq it went out with (sharedb's Connection id is the src; the seq is
// assigned when the op is first sent and kept across reconnects), and whether and when it was
// acknowledged. checkOpLog compares that with a document's op log. Also the set-up the
// cluster tests share: documents to edit through an OpBook, and a count of resent ops.

const C = require('./client');
const { apiOps } = require('./cluster');
const { KITS } = require('./types');

class OpBook {
  constructor() {
    this.entries = [];
  }

  // Submit op on doc; returns the entry {c, d, op, state: 'pending'|'acked'|'error', src,
  // seq, err, done (a promise that settles with the entry)}.
  submit(doc, op, extra = {}) {
    const entry = { c: doc.collection, d: doc.id, op, state: 'pending', src: null, seq: null, err: null, ...extra };
    let rec = null;
    let resolveDone;
    entry.done = new Promise((r) => { resolveDone = r; });
    const callback = (err) => {
      entry.state = err ? 'error' : 'acked';
      entry.err = err || null;
      entry.ackedAt = Date.now();
      if (rec) {
        entry.src = rec.src;
        entry.seq = rec.seq;
      }
      resolveDone(entry);
    };
    doc.submitOp(op, callback);
    // With doc.preventCompose the op is its own entry: the last pending op, or the op now
    // in flight when flush() sent it at once.
    rec = doc.pendingOps.length ? doc.pendingOps[doc.pendingOps.length - 1] : doc.inflightOp;
    if (!rec || !rec.callbacks || rec.callbacks[rec.callbacks.length - 1] !== callback) {
      if (entry.state === 'pending') throw new Error('OpBook: cannot find the submitted op (is doc.preventCompose set?)');
      rec = null; // failed synchronously
    }
    entry.rec = rec;
    this.entries.push(entry);
    return entry;
  }

  async settled(label = 'every submitted op settles', ms = 60000) {
    await C.timed(Promise.all(this.entries.map((e) => e.done)), label, ms);
    return this.entries;
  }

  forDoc(c, d) {
    return this.entries.filter((e) => e.c === c && e.d === d);
  }
}

const key = (src, seq) => `${src}:${seq}`;

// Check an op log (entries {v, src, seq, op|create|del}) against the acknowledged entries:
// versions 0..v-1 in order, no src/seq twice, every acknowledged op exactly once, and every
// edit in the log acknowledged to someone. Returns the problems found (strings).
function opLogProblems(ops, entries, { expectVersion, extraKeys = [] } = {}) {
  const problems = [];
  ops.forEach((op, i) => {
    if (op.v !== i) problems.push(`op #${i} has v ${op.v}`);
  });
  if (expectVersion != null && ops.length !== expectVersion) problems.push(`op log has ${ops.length} ops, the document is at v${expectVersion}`);
  const count = new Map();
  for (const op of ops) count.set(key(op.src, op.seq), (count.get(key(op.src, op.seq)) || 0) + 1);
  for (const [k, n] of count) if (n !== 1) problems.push(`${k} is in the op log ${n} times`);
  const acked = entries.filter((e) => e.state === 'acked');
  for (const e of acked) {
    const n = count.get(key(e.src, e.seq)) || 0;
    if (n !== 1) problems.push(`acknowledged op ${key(e.src, e.seq)} is in the op log ${n} times`);
  }
  const ackedKeys = new Set([...acked.map((e) => key(e.src, e.seq)), ...extraKeys]);
  for (const op of ops) {
    if (op.op !== undefined && !ackedKeys.has(key(op.src, op.seq))) problems.push(`op log v${op.v} ${key(op.src, op.seq)} was never acknowledged to a client`);
  }
  return problems;
}

// The same, on the op log read through GET /api/v1/docs/{c}/{id}/ops (paginated).
// Returns {ops, problems}.
async function checkOpLog(httpURL, c, d, entries, { limit = 100, ...opts } = {}) {
  const ops = await apiOps(httpURL, c, d, { limit });
  return { ops, problems: opLogProblems(ops, entries, opts) };
}

// Count the sharedb client's logger warnings instead of printing them. The one expected in
// these tests is "Invalid version from server": after a reconnect the client resends its
// in-flight op before it re-subscribes, so the ack of a resend the server had already
// committed (acked with its original version, as sharedb does) can arrive before the ops in
// between; the client then fetches and carries on.
function captureClientWarnings() {
  const logger = require('sharedb/lib/client').logger;
  const counts = new Map();
  logger.setMethods({
    warn: (...args) => {
      const text = String(args[0]).replace(/ Expected: .*/, '');
      counts.set(text, (counts.get(text) || 0) + 1);
      if (!/^Invalid version from server/.test(text)) console.warn(...args);
    },
  });
  return counts;
}

// Creates c/id of kit's type through a connection of its own to url.
async function createDoc(url, kit, id, data = kit.initial()) {
  const conn = await C.connect(url);
  try {
    await C.create(conn.get(kit.collection, id), data, kit.name);
  } finally {
    C.closeConnection(conn);
  }
}

// On each connection, the document ids[ki] of every KITS[ki], subscribed and with
// preventCompose (as OpBook needs): docs[ci][ki].
async function subscribeKits(conns, ids) {
  const docs = conns.map((conn) => KITS.map((kit, ki) => conn.get(kit.collection, ids[ki])));
  await Promise.all(docs.flat().map((d) => C.subscribe(d)));
  for (const d of docs.flat()) d.preventCompose = true;
  return docs;
}

// Counts the ops a connection sends again with a seq it had sent before: resends after a
// reconnect. Returns {n}, which grows as they happen.
function countResends(conns) {
  const resends = { n: 0 };
  for (const conn of conns) {
    const sent = new Set();
    conn.on('send', (m) => {
      if (m.a !== 'op') return;
      if (sent.has(m.seq)) resends.n++;
      else sent.add(m.seq);
    });
  }
  return resends;
}

module.exports = { OpBook, checkOpLog, opLogProblems, captureClientWarnings, key, createDoc, subscribeKits, countResends };
