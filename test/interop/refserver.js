#!/usr/bin/env node
'use strict';
// Reference ShareDB server for the interop suite.
//
//   node refserver.js --port N [--host 127.0.0.1] [--mongo URL] [--redis URL] [--auth-secret S]
//                     [--data-file PATH]
//
// sharedb@7.0.0 Backend (presence on) with ot-text-unicode and rich-text registered,
// memory DB unless --mongo (sharedb-mongo), local pub/sub unless --redis
// (sharedb-redis-pubsub). WebSockets on /ws (ws + @teamwork/websocket-json-stream),
// GET /readyz -> 200.
//
// With --auth-secret it enforces the same access rule as `tandem serve --auth-secret`:
// the WebSocket URL carries ?token=<HS256 JWT>; no token / bad signature / expired token
// => the connection is refused. Effective role for collection c and doc d is
// docs[c][d], else collections[c], else role. "editor" reads and writes, "viewer" only
// reads; every write (op create/edit/del, presence submit) by a non-editor fails with
// ERR_FORBIDDEN. Roles other than editor/viewer cannot read either.

const fs = require('node:fs');
const http = require('node:http');
const crypto = require('node:crypto');
const { WebSocketServer } = require('ws');
const WebSocketJSONStream = require('@teamwork/websocket-json-stream');
const ShareDB = require('sharedb');
const ShareDBError = require('sharedb/lib/error');

ShareDB.types.register(require('ot-text-unicode').type);
ShareDB.types.register(require('rich-text').type);

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', mongo: null, redis: null, authSecret: null, dataFile: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = () => (eq >= 0 ? arg.slice(eq + 1) : argv[++i]);
    switch (name) {
      case '--port': opts.port = Number(value()); break;
      case '--host': opts.host = value(); break;
      case '--mongo': opts.mongo = value(); break;
      case '--redis': opts.redis = value(); break;
      case '--auth-secret': opts.authSecret = value(); break;
      case '--data-file': opts.dataFile = value(); break;
      case '-h':
      case '--help':
        console.log('usage: node refserver.js --port N [--host H] [--mongo URL] [--redis URL] [--auth-secret S] [--data-file PATH]');
        process.exit(0);
        break;
      default:
        console.error('refserver: unknown argument ' + arg);
        process.exit(2);
    }
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    console.error('refserver: --port must be an integer 0..65535');
    process.exit(2);
  }
  return opts;
}

// ---- HS256 JWT (node:crypto only) ----------------------------------------------------

function b64urlDecode(s) {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

// Returns the claims, or throws an Error saying why the token is refused.
function verifyJWT(token, secret, nowMs) {
  if (typeof token !== 'string' || token === '') throw new Error('missing token');
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('malformed token');
  let header;
  let claims;
  try {
    header = JSON.parse(b64urlDecode(parts[0]).toString('utf8'));
    claims = JSON.parse(b64urlDecode(parts[1]).toString('utf8'));
  } catch (e) {
    throw new Error('malformed token');
  }
  if (!header || header.alg !== 'HS256') throw new Error('unsupported alg');
  const want = crypto.createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest();
  const got = b64urlDecode(parts[2]);
  if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) throw new Error('bad signature');
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('bad claims');
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== 'number') throw new Error('bad exp');
    if (claims.exp * 1000 <= nowMs) throw new Error('token expired');
  }
  return claims;
}

function own(obj, key) {
  return obj !== null && typeof obj === 'object' && Object.prototype.hasOwnProperty.call(obj, key);
}

function effectiveRole(claims, collection, id) {
  if (own(claims.docs, collection) && own(claims.docs[collection], id)) return claims.docs[collection][id];
  if (own(claims.collections, collection)) return claims.collections[collection];
  return claims.role;
}

function forbidden(message) {
  return new ShareDBError('ERR_FORBIDDEN', message);
}

function installAuth(backend, secret) {
  backend.use('connect', (context, next) => {
    const req = context.req;
    let token = null;
    try {
      token = new URL(req.url, 'http://localhost').searchParams.get('token');
    } catch (e) {
      token = null;
    }
    try {
      context.agent.custom.claims = verifyJWT(token, secret, Date.now());
      next();
    } catch (e) {
      // agent.close(err): the server ends the stream and the WebSocket is closed.
      next(new ShareDBError('ERR_UNAUTHORIZED', e.message));
    }
  });

  const canRead = (role) => role === 'editor' || role === 'viewer';

  backend.use('readSnapshots', (context, next) => {
    const claims = context.agent.custom.claims;
    for (const snapshot of context.snapshots) {
      const role = effectiveRole(claims, context.collection, snapshot.id);
      if (!canRead(role)) {
        context.rejectSnapshotRead(snapshot, forbidden('no read access to ' + context.collection + '/' + snapshot.id));
      }
    }
    next();
  });

  backend.use('submit', (context, next) => {
    const claims = context.agent.custom.claims;
    const role = effectiveRole(claims, context.collection, context.id);
    if (role !== 'editor') {
      return next(forbidden('role ' + JSON.stringify(role) + ' may not write ' + context.collection + '/' + context.id));
    }
    next();
  });

  backend.use('receivePresence', (context, next) => {
    const claims = context.agent.custom.claims;
    const presence = context.presence;
    const role = presence.c != null ? effectiveRole(claims, presence.c, presence.d) : claims.role;
    if (role !== 'editor') {
      return next(forbidden('role ' + JSON.stringify(role) + ' may not submit presence on ' + presence.ch));
    }
    next();
  });
}

// ---- memory DB ------------------------------------------------------------------------
//
// sharedb's MemoryDB.getOps fails with a code-less Error('Missing ops') when asked for ops
// past the end of the log, so `nf` with a version beyond the current one would answer
// {error:{message:"Missing ops"}} instead of ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT.
// Real adapters (sharedb-mongo) return the ops that exist and let the backend report
// ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT; do the same here by clamping `to`.
class ReferenceMemoryDB extends ShareDB.MemoryDB {
  getOps(collection, id, from, to, options, callback) {
    const length = this._getVersionSync(collection, id);
    if (to != null && to > length) to = length;
    return super.getOps(collection, id, from, to, options, callback);
  }
}

// Optional file-backed variant (--data-file PATH): the whole memory DB is rewritten and
// fsynced to PATH after every commit, before the commit is acknowledged, and loaded on
// start. Only for validating the restart test against the reference server
// (INTEROP_REF_PERSIST=1); Tandem's restart test runs against its bolt store.
class FileBackedMemoryDB extends ReferenceMemoryDB {
  constructor(file) {
    super();
    this.file = file;
    if (fs.existsSync(file)) {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
      for (const key of ['docs', 'ops']) {
        const byCollection = Object.create(null);
        for (const [collection, byId] of Object.entries(saved[key])) {
          byCollection[collection] = Object.assign(Object.create(null), byId);
        }
        this[key] = byCollection;
      }
    }
  }

  commit(collection, id, op, snapshot, options, callback) {
    super.commit(collection, id, op, snapshot, options, (err, succeeded) => {
      if (err || !succeeded) return callback(err, succeeded);
      try {
        const tmp = this.file + '.tmp';
        const fd = fs.openSync(tmp, 'w');
        fs.writeSync(fd, JSON.stringify({ docs: this.docs, ops: this.ops }));
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        fs.renameSync(tmp, this.file);
      } catch (e) {
        return callback(e);
      }
      callback(null, succeeded);
    });
  }
}

// ---- server ---------------------------------------------------------------------------

function main() {
  const opts = parseArgs(process.argv.slice(2));

  // (No sendPresence middleware here, so doNotForwardSendPresenceErrorsToClient only silences
  // sharedb's deprecation notice.)
  const backendOptions = {
    presence: true,
    doNotForwardSendPresenceErrorsToClient: true,
    db: opts.dataFile ? new FileBackedMemoryDB(opts.dataFile) : new ReferenceMemoryDB(),
  };
  if (opts.mongo) backendOptions.db = require('sharedb-mongo')(opts.mongo);
  if (opts.redis) backendOptions.pubsub = require('sharedb-redis-pubsub')({ url: opts.redis });
  const backend = new ShareDB(backendOptions);
  if (opts.authSecret) installAuth(backend, opts.authSecret);

  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/readyz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });

  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws, req) => {
    // A socket 'error' (bad frame, reset) is followed by 'close'; the stream handles that.
    ws.on('error', (err) => console.error('refserver: socket error:', err.message));
    const stream = new WebSocketJSONStream(ws);
    // A write to a socket the client has just reset (EPIPE) errors the stream; without a
    // listener that would crash the process. The agent cleans up on the stream's 'close'.
    stream.on('error', (err) => console.error('refserver: stream error:', err.message));
    backend.listen(stream, req);
  });

  server.listen(opts.port, opts.host, () => {
    const addr = server.address();
    console.error(`refserver: listening on http://${addr.address}:${addr.port} (ws path /ws, db=${opts.mongo ? 'mongo' : opts.dataFile ? 'memory+file' : 'memory'}, pubsub=${opts.redis ? 'redis' : 'memory'}, auth=${opts.authSecret ? 'on' : 'off'})`);
  });

  let stopping = false;
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    console.error('refserver: ' + signal + ', shutting down');
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.close();
    const timer = setTimeout(() => process.exit(0), 2000);
    timer.unref();
    backend.close(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) main();

module.exports = { verifyJWT, effectiveRole };
