'use strict';
// Client-side helpers: real sharedb@7.0.0 client Connections over `ws`, promisified doc
// operations, a frame-dropping WebSocket proxy, and reconnect of the SAME Connection.

const WebSocket = require('ws');
const { WebSocketServer } = WebSocket;
const sharedbClient = require('sharedb/lib/client');
const richText = require('rich-text');
const textUnicode = require('ot-text-unicode');

sharedbClient.types.register(richText.type);
sharedbClient.types.register(textUnicode.type);

const { Connection } = sharedbClient;

const TYPES = {
  json0: 'http://sharejs.org/types/JSONv0',
  'text-unicode': 'http://sharejs.org/types/text-unicode',
  'rich-text': 'http://sharejs.org/types/rich-text/v1',
};

const openConnections = new Set();
const openProxies = new Set();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Per-test timeout (pass as the options of every test) and per-request timeout: a server
// that never answers fails the request with a message naming it instead of hanging.
const TEST_TIMEOUT_MS = Number(process.env.INTEROP_TEST_TIMEOUT_MS || 45000);
const T = { timeout: TEST_TIMEOUT_MS };
const REQUEST_TIMEOUT_MS = Number(process.env.INTEROP_REQUEST_TIMEOUT_MS || 10000);

function timed(promise, label, ms = REQUEST_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function withToken(url, token) {
  if (token == null) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
}

function newSocket(url) {
  const ws = new WebSocket(url);
  // Connection sets onerror; keep an extra listener so an early error never goes unhandled.
  ws.on('error', () => {});
  return ws;
}

// Wait for a connection to reach 'connected'. Rejects if the socket closes first or on timeout.
function waitConnected(connection, timeoutMs = 10000) {
  if (connection.state === 'connected') return Promise.resolve(connection);
  return new Promise((resolve, reject) => {
    const socket = connection.socket;
    const done = (err) => {
      clearTimeout(timer);
      connection.removeListener('connected', onConnected);
      socket.removeEventListener('close', onClose);
      if (err) reject(err); else resolve(connection);
    };
    const onConnected = () => done();
    const onClose = (ev) => done(new Error(`socket closed before the handshake completed (code ${ev && ev.code})`));
    const timer = setTimeout(() => done(new Error(`not connected after ${timeoutMs} ms (state ${connection.state})`)), timeoutMs);
    connection.on('connected', onConnected);
    socket.addEventListener('close', onClose);
  });
}

// connect(url, {token, wait}) -> Promise<Connection> (connected unless wait === false).
// connection.errors collects 'error' events of the connection and its docs so that an
// unexpected error never crashes the runner; tests assert it stays empty where relevant.
async function connect(url, { token = null, wait = true, timeoutMs = 10000 } = {}) {
  const fullURL = withToken(url, token);
  const connection = new Connection(newSocket(fullURL));
  connection.interopURL = fullURL;
  connection.errors = [];
  connection.on('error', (err) => connection.errors.push(err));
  connection.on('doc', (doc) => doc.on('error', (err) => connection.errors.push(err)));
  openConnections.add(connection);
  if (wait) await waitConnected(connection, timeoutMs);
  return connection;
}

// Rebind the SAME Connection object (same id/src and seq counter, same docs with their
// in-flight/pending ops) to a fresh WebSocket, and wait for the handshake.
async function reconnect(connection, url = connection.interopURL, { timeoutMs = 10000 } = {}) {
  connection.interopURL = url;
  connection.bindToSocket(newSocket(url));
  await waitConnected(connection, timeoutMs);
  return connection;
}

// Abruptly drop the TCP connection (no close frame) as a network failure would.
function dropSocket(connection) {
  const socket = connection.socket;
  if (socket && typeof socket.terminate === 'function') socket.terminate();
}

function waitSocketClosed(connection, timeoutMs = 5000) {
  const socket = connection.socket;
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.addEventListener('close', () => { clearTimeout(timer); resolve(true); });
  });
}

// Record every frame the connection sends/receives on its current socket (raw strings
// as written to the socket, parsed objects as received). Survives nothing: call again
// after reconnect if needed.
function recordWire(connection) {
  const log = { sent: [], received: [] };
  const socket = connection.socket;
  const origSend = socket.send;
  socket.send = function (data, ...rest) {
    log.sent.push(JSON.parse(data));
    return origSend.call(this, data, ...rest);
  };
  connection.on('receive', (request) => {
    if (connection.socket === socket) log.received.push(JSON.parse(JSON.stringify(request.data)));
  });
  return log;
}

function closeConnection(connection) {
  openConnections.delete(connection);
  try {
    connection.close();
  } catch (e) {
    // ignore
  }
  try {
    if (connection.socket && connection.socket.terminate) connection.socket.terminate();
  } catch (e) {
    // ignore
  }
}

// ---- promisified doc helpers -----------------------------------------------------------

function cb(resolve, reject) {
  return (err, value) => (err ? reject(err) : resolve(value));
}

const docLabel = (what, doc) => `${what} ${doc.collection}/${doc.id}`;
const fetchDoc = (doc) => timed(new Promise((res, rej) => doc.fetch(cb(res, rej))), docLabel('fetch', doc)).then(() => doc);
const subscribe = (doc) => timed(new Promise((res, rej) => doc.subscribe(cb(res, rej))), docLabel('subscribe', doc)).then(() => doc);
const unsubscribe = (doc) => timed(new Promise((res, rej) => doc.unsubscribe(cb(res, rej))), docLabel('unsubscribe', doc)).then(() => doc);
const create = (doc, data, type) => timed(new Promise((res, rej) => doc.create(data, type, cb(res, rej))), docLabel('create', doc)).then(() => doc);
const submitOp = (doc, op, options = {}) => timed(new Promise((res, rej) => doc.submitOp(op, options, cb(res, rej))), docLabel('submitOp', doc)).then(() => doc);
const del = (doc) => timed(new Promise((res, rej) => doc.del(cb(res, rej))), docLabel('del', doc)).then(() => doc);
const fetchSnapshot = (conn, c, id, v) => timed(new Promise((res, rej) => conn.fetchSnapshot(c, id, v, cb(res, rej))), `fetchSnapshot ${c}/${id}@${v}`);
const fetchSnapshotByTimestamp = (conn, c, id, ts) => timed(new Promise((res, rej) => conn.fetchSnapshotByTimestamp(c, id, ts, cb(res, rej))), `fetchSnapshotByTimestamp ${c}/${id}@${ts}`);
const whenNothingPending = (doc) => timed(new Promise((res) => doc.whenNothingPending(() => res(doc))), docLabel('whenNothingPending', doc));

// Presence.
const subscribePresence = (presence) => timed(new Promise((res, rej) => presence.subscribe(cb(res, rej))), `presence subscribe ${presence.channel}`);
const submitPresence = (local, value) => timed(new Promise((res, rej) => local.submit(value, cb(res, rej))), `presence submit ${local.presenceId}`);

// The next `name` event of an emitter (resolves with the event's arguments array).
const nextEvent = (emitter, name, label = name) => timed(new Promise((res) => emitter.once(name, (...args) => res(args))), `event ${label}`);

// Error from a promise that must reject.
async function rejectionOf(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

async function waitFor(predicate, { timeoutMs = 10000, intervalMs = 5, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await sleep(intervalMs);
  }
}

// Plain-JSON view of doc data (rich-text data is a Delta on one side, {ops} on the other).
function plain(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// Fetch a doc through a fresh Connection: what the server holds right now.
async function serverSnapshot(url, collection, id, { token } = {}) {
  const conn = await connect(url, { token });
  try {
    const doc = conn.get(collection, id);
    await fetchDoc(doc);
    return { v: doc.version, type: doc.type ? doc.type.uri : doc.type, data: plain(doc.data) };
  } finally {
    closeConnection(conn);
  }
}

// ---- frame-dropping proxy ------------------------------------------------------------------
//
// startProxy(upstreamWsURL) -> { url, dropNext(direction, match), close(), frames }.
// Every client WebSocket to proxy.url gets its own upstream WebSocket (the path's query,
// e.g. ?token=, is passed on). Frames are relayed verbatim both ways. dropNext('c2s'|'s2c',
// match) arms a one-shot rule: the first frame in that direction for which match(parsedMsg)
// is true is NOT forwarded, and at that moment both sockets of that pair are terminated
// (TCP reset, no close frame). It returns a promise of the dropped message.

async function startProxy(upstreamURL) {
  const upstreamBase = new URL(upstreamURL);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const rules = [];
  const pairs = new Set();
  const frames = [];

  function checkDrop(direction, pair, data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      return false;
    }
    frames.push({ direction, msg });
    const i = rules.findIndex((r) => r.direction === direction && r.match(msg));
    if (i < 0) return false;
    const [rule] = rules.splice(i, 1);
    pair.cut();
    rule.resolve(msg);
    return true;
  }

  wss.on('connection', (client, req) => {
    const target = new URL(upstreamBase);
    const q = req.url.indexOf('?');
    if (q >= 0) target.search = req.url.slice(q);
    const upstream = new WebSocket(target.toString());
    const queue = [];
    const pair = {
      cut() {
        pairs.delete(pair);
        client.terminate();
        upstream.terminate();
      },
    };
    pairs.add(pair);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('message', (data, isBinary) => {
      const text = isBinary ? data : data.toString();
      if (checkDrop('c2s', pair, text)) return;
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else queue.push(text);
    });
    upstream.on('open', () => {
      for (const text of queue.splice(0)) upstream.send(text);
    });
    upstream.on('message', (data, isBinary) => {
      const text = isBinary ? data : data.toString();
      if (checkDrop('s2c', pair, text)) return;
      if (client.readyState === WebSocket.OPEN) client.send(text);
    });
    client.on('close', () => { pairs.delete(pair); upstream.terminate(); });
    upstream.on('close', () => { pairs.delete(pair); client.terminate(); });
  });

  const proxy = {
    url: `ws://127.0.0.1:${wss.address().port}/ws`,
    frames,
    dropNext(direction, match) {
      return new Promise((resolve) => rules.push({ direction, match, resolve }));
    },
    async close() {
      openProxies.delete(proxy);
      for (const pair of [...pairs]) pair.cut();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(() => r()));
    },
  };
  openProxies.add(proxy);
  return proxy;
}

// Close every Connection and proxy created through this module (use in after hooks).
async function closeAll() {
  for (const c of [...openConnections]) closeConnection(c);
  await Promise.all([...openProxies].map((p) => p.close()));
}

// ---- seeded PRNG ----------------------------------------------------------------------------

function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n), // 0..n-1
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // lo..hi inclusive
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

module.exports = {
  T,
  TEST_TIMEOUT_MS,
  timed,
  Connection,
  WebSocket,
  TYPES,
  connect,
  reconnect,
  waitConnected,
  dropSocket,
  waitSocketClosed,
  recordWire,
  closeConnection,
  closeAll,
  fetchDoc,
  subscribe,
  unsubscribe,
  create,
  submitOp,
  del,
  fetchSnapshot,
  fetchSnapshotByTimestamp,
  whenNothingPending,
  subscribePresence,
  submitPresence,
  nextEvent,
  rejectionOf,
  waitFor,
  plain,
  serverSnapshot,
  startProxy,
  prng,
  sleep,
  withToken,
};
