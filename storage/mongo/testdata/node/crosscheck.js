'use strict';
// Cross-check of Tandem's storage/mongo with the real sharedb@7.0.0 and
// sharedb-mongo@6.0.0 on the same database. Run by TestNodeInterop.
//
//   node crosscheck.js read URL COLLECTION ID...
//     Reads each document through sharedb-mongo as a ShareDB server does and
//     prints, as JSON: {ID: {snapshot, ops, bulkOps, committed}} where
//     snapshot is getSnapshot with metadata, ops is getOps(0, null) with
//     metadata, bulkOps is getOpsBulk from 0, and committed is, for each op,
//     what getCommittedOpVersion finds for its src and seq (the check that
//     recognises a resubmitted op).
//
//   node crosscheck.js write URL PLAN
//     Runs PLAN (a JSON array of {c, d, create: {type, data}} | {c, d, op}
//     | {c, d, del: true}) through a sharedb Backend on sharedb-mongo, one
//     step at a time, and prints {src, docs: {"c/d": {v, type, data}}}.
//
// URL names the database (mongodb://host:port/db), as sharedb-mongo wants.
const ShareDB = require('sharedb');
const ShareDBMongo = require('sharedb-mongo');

ShareDB.types.register(require('ot-text-unicode').type);

function p(fn) {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
}

async function read(url, collection, ids) {
  const db = ShareDBMongo(url);
  const out = {};
  try {
    for (const id of ids) {
      const snapshot = await p((cb) => db.getSnapshot(collection, id, null, {metadata: true}, cb));
      const ops = await p((cb) => db.getOps(collection, id, 0, null, {metadata: true}, cb));
      const bulk = await p((cb) => db.getOpsBulk(collection, {[id]: 0}, null, {metadata: true}, cb));
      const full = await p((cb) => db.getSnapshot(collection, id, {$submit: true}, null, cb));
      const committed = [];
      for (const op of ops) {
        committed.push(await p((cb) => db.getCommittedOpVersion(collection, id, full, op, null, cb)));
      }
      out[id] = {
        snapshot: {v: snapshot.v, type: snapshot.type, data: snapshot.data, m: snapshot.m},
        ops,
        bulkOps: bulk[id],
        committed,
      };
    }
  } finally {
    await p((cb) => db.close(cb));
  }
  return out;
}

async function write(url, plan) {
  const db = ShareDBMongo(url);
  const backend = new ShareDB({db});
  const connection = backend.connect();
  const docs = {};
  try {
    for (const step of plan) {
      const doc = connection.get(step.c, step.d);
      await p((cb) => doc.fetch(cb));
      if (step.create) {
        await p((cb) => doc.create(step.create.data, step.create.type, cb));
      } else if (step.del) {
        await p((cb) => doc.del(cb));
      } else {
        await p((cb) => doc.submitOp(step.op, cb));
      }
      docs[step.c + '/' + step.d] = {v: doc.version, type: doc.type ? doc.type.uri : null, data: doc.data};
    }
    return {src: connection.id, docs};
  } finally {
    connection.close();
    await p((cb) => backend.close(cb));
  }
}

async function main() {
  const [cmd, url, ...rest] = process.argv.slice(2);
  let out;
  if (cmd === 'read') {
    out = await read(url, rest[0], rest.slice(1));
  } else if (cmd === 'write') {
    out = await write(url, JSON.parse(rest[0]));
  } else {
    throw new Error('usage: crosscheck.js read URL COLLECTION ID... | write URL PLAN');
  }
  // Exit once written: the driver keeps timers alive for seconds after
  // close, which only slows the test down.
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
