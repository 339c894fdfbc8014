'use strict';
// Reads documents and op logs straight from the Mongo database the way ShareDB itself does:
// through sharedb-mongo@6.0.0 (the adapter refserver.js uses), independent of Tandem.
//
//   const reader = mongoReader('mongodb://127.0.0.1:PORT/db')
//   await reader.snapshot(c, id)  {v, type, data}  (type null and data undefined when deleted
//                                 or never created), like lib/client.js serverSnapshot
//   await reader.ops(c, id)       the op log, versions 0..v-1: [{v, src, seq, op|create|del, m}]
//   await reader.close()

const ShareDbMongo = require('sharedb-mongo');

const plain = (x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));

function mongoReader(url) {
  const db = ShareDbMongo(url);
  const call = (fn, ...args) => new Promise((resolve, reject) => fn.call(db, ...args, (err, res) => (err ? reject(err) : resolve(res))));
  return {
    async snapshot(c, id) {
      const snap = await call(db.getSnapshot, c, id, null, null);
      return { v: snap.v, type: snap.type, data: snap.type == null ? undefined : plain(snap.data) };
    },
    async ops(c, id) {
      const ops = await call(db.getOps, c, id, 0, null, { metadata: true });
      return ops.map((op) => {
        const out = { v: op.v, src: op.src, seq: op.seq };
        if (op.op !== undefined) out.op = plain(op.op);
        if (op.create !== undefined) out.create = plain(op.create);
        if (op.del) out.del = true;
        out.m = { ts: op.m && op.m.ts };
        return out;
      });
    },
    close() {
      return new Promise((resolve) => db.close(() => resolve()));
    },
  };
}

module.exports = { mongoReader };
