'use strict';
// Server-Sent Events viewers for the cluster tests: the `eventsource` npm package (the
// WHATWG EventSource: Last-Event-ID on reconnect, `retry:` honoured) and a TCP proxy that
// can cut a viewer's connection as a network failure would.
//
//   const v = openViewer(httpURL + '/api/v1/docs/c/id/events', { token, fetch })  (fetch: the
//             EventSource's fetch, to observe or change its requests)
//   v.events       every event received: {type: 'snapshot'|'op'|'presence', id, data (parsed), at}
//   v.errors       every 'error' event: {code, message, readyState}
//   v.opens        how many times the stream (re)opened
//   await v.next(pred, label)  the first event (also one already received) matching pred
//   v.close()
//
//   const p = await startTcpProxy(port)    p.port, p.requests (the raw head of each HTTP request)
//   p.cut()      reset every connection through it
//   p.block() / p.unblock()   while blocked new connections are reset at once
//   p.retarget(port)   new connections go to another port
//   p.close()

const net = require('node:net');
const { EventSource } = require('eventsource');
const { timed, withToken } = require('./client');

const openViewers = new Set();
const openProxies = new Set();

function openViewer(url, { token = null, fetch = undefined } = {}) {
  const es = new EventSource(withToken(url, token), fetch ? { fetch } : undefined);
  const viewer = {
    es,
    events: [],
    errors: [],
    opens: 0,
    waiters: [],
    next(pred, label = 'event', ms) {
      const found = viewer.events.find(pred);
      if (found) return Promise.resolve(found);
      return timed(new Promise((resolve) => viewer.waiters.push({ pred, resolve })), `viewer: ${label}`, ms);
    },
    // Like next, but only events after index `from` of viewer.events.
    nextAfter(from, pred, label = 'event', ms) {
      return viewer.next((e) => viewer.events.indexOf(e) >= from && pred(e), label, ms);
    },
    close() {
      openViewers.delete(viewer);
      es.close();
    },
  };
  const record = (type) => (ev) => {
    let data = ev.data;
    try {
      data = JSON.parse(ev.data);
    } catch (e) {
      // keep the text
    }
    const e = { type, id: ev.lastEventId, data, at: Date.now() };
    viewer.events.push(e);
    for (const w of [...viewer.waiters]) {
      if (w.pred(e)) {
        viewer.waiters.splice(viewer.waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  };
  for (const type of ['snapshot', 'op', 'presence', 'message']) es.addEventListener(type, record(type));
  es.addEventListener('open', () => { viewer.opens += 1; });
  es.addEventListener('error', (ev) => {
    viewer.errors.push({ code: ev.code, message: ev.message, readyState: es.readyState });
  });
  openViewers.add(viewer);
  return viewer;
}

// A TCP relay to 127.0.0.1:port.
async function startTcpProxy(port) {
  let target = port;
  const sockets = new Set();
  const requests = [];
  let blocked = false;
  const server = net.createServer((client) => {
    if (blocked) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let head = '';
    client.on('data', (chunk) => {
      if (head !== null) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end >= 0) {
          requests.push(head.slice(0, end));
          head = null;
        }
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const done = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', done);
    upstream.on('close', done);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const proxy = {
    port: server.address().port,
    get httpURL() {
      return `http://127.0.0.1:${proxy.port}`;
    },
    requests,
    cut() {
      for (const s of [...sockets]) {
        sockets.delete(s);
        if (typeof s.resetAndDestroy === 'function' && s.readyState !== 'closed') s.resetAndDestroy();
        else s.destroy();
      }
    },
    block() { blocked = true; },
    retarget(p) { target = p; }, // new connections go to port p
    unblock() { blocked = false; },
    async close() {
      openProxies.delete(proxy);
      proxy.cut();
      await new Promise((r) => server.close(() => r()));
    },
  };
  openProxies.add(proxy);
  return proxy;
}

// The Last-Event-ID header of a raw request head, or null.
function lastEventIdOf(head) {
  const m = /^last-event-id:\s*(.*)$/im.exec(head);
  return m ? m[1].trim() : null;
}

async function closeAllViewers() {
  for (const v of [...openViewers]) v.close();
  await Promise.all([...openProxies].map((p) => p.close()));
}

module.exports = { openViewer, startTcpProxy, lastEventIdOf, closeAllViewers };
