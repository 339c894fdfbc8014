#!/usr/bin/env node
'use strict';
// The ShareDB server that bench/run.sh loads beside Tandem.
//
//   node server.js --port N [--host 127.0.0.1] [--mongo URL [--mongo-db NAME]] [--redis URL]
//
// sharedb@7.0.0 with presence on, ot-text-unicode and rich-text registered; sharedb-mongo
// when --mongo is given (--mongo-db names the database, else the one in the URL), else
// sharedb's MemoryDB; sharedb-redis-pubsub when --redis is given, else in-process pub/sub.
// WebSockets on /ws (ws + @teamwork/websocket-json-stream), as test/interop/refserver.js.
//
// Besides the protocol, the little that `tandem load` needs to check a run, read straight
// from the backend's database (no middleware, no projection), in the shapes of Tandem's read
// API (docs/api.md):
//
//   GET /api/v1/docs/{c}/{id}       {"v","type","data"}; 404 ERR_DOC_DOES_NOT_EXIST if never created
//   GET /api/v1/docs/{c}/{id}/ops   {"ops":[{"v","src","seq","op"|"create"|"del","m"}],"next"}
//                                   ?from (default 0) &to (exclusive, default current) &limit (≤1000, default 100)
//   GET /healthz                    200 while the process runs
//   GET /readyz                     200 once the database answers
//   GET /debug/gc                   collects garbage (if run with node --expose-gc), answers
//                                   process.memoryUsage()
//
// ShareDB has no Server-Sent Events: the load tester's viewers are subscribed WebSocket
// clients against it (tandem load --viewer-transport ws).

const http = require('node:http');
const { WebSocketServer } = require('ws');
const WebSocketJSONStream = require('@teamwork/websocket-json-stream');
const ShareDB = require('sharedb');

ShareDB.types.register(require('ot-text-unicode').type);
ShareDB.types.register(require('rich-text').type);

function usage(code) {
  const text = 'usage: node server.js --port N [--host H] [--mongo URL [--mongo-db NAME]] [--redis URL]';
  (code ? console.error : console.log)(text);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', mongo: null, mongoDB: null, redis: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) {
        console.error('server.js: ' + name + ' needs a value');
        usage(2);
      }
      return v;
    };
    switch (name) {
      case '--port': opts.port = Number(value()); break;
      case '--host': opts.host = value(); break;
      case '--mongo': opts.mongo = value(); break;
      case '--mongo-db': opts.mongoDB = value(); break;
      case '--redis': opts.redis = value(); break;
      case '-h':
      case '--help': usage(0); break;
      default:
        console.error('server.js: unknown argument ' + arg);
        usage(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    console.error('server.js: --port must be an integer 0..65535');
    usage(2);
  }
  if (opts.mongoDB && !opts.mongo) {
    console.error('server.js: --mongo-db needs --mongo');
    usage(2);
  }
  return opts;
}

// sharedb's MemoryDB.getOps fails with "Missing ops" when `to` is past the end of the log;
// sharedb-mongo returns the ops that exist. Clamp, as test/interop/refserver.js does.
class BenchMemoryDB extends ShareDB.MemoryDB {
  getOps(collection, id, from, to, options, callback) {
    const length = this._getVersionSync(collection, id);
    if (to != null && to > length) to = length;
    return super.getOps(collection, id, from, to, options, callback);
  }
}

function mongoURL(url, db) {
  if (!db) return url;
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}

// ---- the read API shim ----------------------------------------------------------------

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res, status, code, message) {
  send(res, status, { error: { code, message } });
}

function intParam(params, name, dflt) {
  const raw = params.get(name);
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : NaN;
}

function getSnapshot(db, c, id) {
  return new Promise((resolve, reject) => {
    db.getSnapshot(c, id, null, null, (err, snapshot) => (err ? reject(err) : resolve(snapshot)));
  });
}

function getOps(db, c, id, from, to) {
  return new Promise((resolve, reject) => {
    db.getOps(c, id, from, to, null, (err, ops) => (err ? reject(err) : resolve(ops)));
  });
}

async function docAPI(db, res, c, id, rest, params) {
  const snapshot = await getSnapshot(db, c, id);
  if (snapshot.type == null && !(snapshot.v > 0)) {
    return sendError(res, 404, 'ERR_DOC_DOES_NOT_EXIST', `${c}/${id} does not exist`);
  }
  if (rest === '') {
    const body = { v: snapshot.v, type: snapshot.type };
    if (snapshot.type != null) body.data = snapshot.data;
    return send(res, 200, body);
  }
  // /ops
  const from = intParam(params, 'from', 0);
  const to = intParam(params, 'to', snapshot.v);
  const limit = intParam(params, 'limit', 100);
  if (Number.isNaN(from) || Number.isNaN(to) || Number.isNaN(limit) || limit < 1 || limit > 1000) {
    return sendError(res, 400, 'ERR_BAD_REQUEST', 'from, to and limit must be non-negative integers, limit 1..1000');
  }
  const end = Math.min(to, snapshot.v, from + limit);
  const ops = end > from ? await getOps(db, c, id, from, end) : [];
  const out = ops.map((op) => {
    const o = { v: op.v, src: op.src, seq: op.seq };
    if (op.op !== undefined) o.op = op.op;
    if (op.create !== undefined) o.create = op.create;
    if (op.del) o.del = true;
    if (op.m !== undefined) o.m = op.m;
    return o;
  });
  const next = end < Math.min(to, snapshot.v) ? end : null;
  return send(res, 200, { ops: out, next });
}

function handleHTTP(backend, ready, req, res) {
  const u = new URL(req.url, 'http://localhost');
  const path = u.pathname;
  if (req.method !== 'GET') return sendError(res, 405, 'ERR_METHOD', 'GET only');
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  if (path === '/debug/gc') {
    // bench/run.sh collects garbage before reading VmRSS (node --expose-gc), as it does in
    // Tandem through pprof, so that neither figure carries the other's start-up garbage.
    if (typeof global.gc === 'function') global.gc();
    return send(res, 200, process.memoryUsage());
  }
  if (path === '/readyz') {
    const ok = ready();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    return res.end(ok ? 'ok\n' : 'not ready\n');
  }
  const m = /^\/api\/v1\/docs\/([^/]+)\/([^/]+)(\/ops)?$/.exec(path);
  if (!m) return sendError(res, 404, 'ERR_NOT_FOUND', 'not found');
  let c;
  let id;
  try {
    c = decodeURIComponent(m[1]);
    id = decodeURIComponent(m[2]);
  } catch (e) {
    return sendError(res, 400, 'ERR_BAD_REQUEST', 'bad path');
  }
  docAPI(backend.db, res, c, id, m[3] || '', u.searchParams).catch((err) => {
    sendError(res, 500, (err && err.code) || 'ERR_INTERNAL', String((err && err.message) || err));
  });
}

// ---- server ---------------------------------------------------------------------------

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const backendOptions = { presence: true, doNotForwardSendPresenceErrorsToClient: true, db: new BenchMemoryDB() };
  if (opts.mongo) backendOptions.db = require('sharedb-mongo')(mongoURL(opts.mongo, opts.mongoDB));
  if (opts.redis) backendOptions.pubsub = require('sharedb-redis-pubsub')({ url: opts.redis });
  const backend = new ShareDB(backendOptions);

  // Ready once the database has answered one read.
  let isReady = false;
  const probe = () => {
    backend.db.getSnapshot('_bench', '_probe', null, null, (err) => {
      if (err) {
        console.error('server.js: database not ready:', err.message);
        setTimeout(probe, 500).unref();
        return;
      }
      isReady = true;
    });
  };
  probe();

  const server = http.createServer((req, res) => handleHTTP(backend, () => isReady, req, res));
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws, req) => {
    ws.on('error', (err) => console.error('server.js: socket error:', err.message));
    const stream = new WebSocketJSONStream(ws);
    stream.on('error', (err) => console.error('server.js: stream error:', err.message));
    backend.listen(stream, req);
  });
  // Thousands of sockets from one address: no backlog trouble.
  server.listen({ port: opts.port, host: opts.host, backlog: 4096 }, () => {
    const addr = server.address();
    console.error(`server.js: sharedb listening on http://${addr.address}:${addr.port} (ws path /ws, db=${opts.mongo ? 'mongo' : 'memory'}, pubsub=${opts.redis ? 'redis' : 'memory'}, pid ${process.pid})`);
  });

  let stopping = false;
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    console.error('server.js: ' + signal + ', shutting down');
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.close();
    setTimeout(() => process.exit(0), 2000).unref();
    backend.close(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main();
