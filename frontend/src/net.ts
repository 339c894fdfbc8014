// One ShareDB connection per page over a WebSocket that reconnects by
// itself. The sharedb client keeps unacknowledged ops across reconnects
// and resends them, so no local edit is lost while offline.
import ReconnectingWebSocket from 'reconnecting-websocket';
import sharedb, { type Connection, type ConnectionState } from 'sharedb/lib/client';
import richText from 'rich-text';
import * as identity from './identity';

sharedb.types.register(richText.type);

export type Link = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface Net {
  connection: Connection;
  /** The link as shown to the person. */
  link(): Link;
  onLink(fn: (l: Link) => void): () => void;
  /** Reconnects now (e.g. after the identity changed, so the server learns the new name). */
  reconnect(): void;
}

let net: Net | null = null;

function wsURL(): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = `${proto}//${window.location.host}/ws`;
  const id = identity.current();
  if (id?.token) return identity.withToken(base);
  const q = new URLSearchParams();
  if (id) {
    q.set('name', id.name);
    q.set('color', id.color);
  }
  const qs = q.toString();
  return qs ? `${base}?${qs}` : base;
}

/** Resolves once the person has a name (the server shows it to others). */
function whenIdentified(): Promise<void> {
  if (identity.current()) return Promise.resolve();
  return new Promise((resolve) => window.addEventListener('tandem:identity', () => resolve(), { once: true }));
}

function whenOnline(): Promise<void> {
  if (navigator.onLine) return Promise.resolve();
  return new Promise((resolve) => window.addEventListener('online', () => resolve(), { once: true }));
}

export function getNet(): Net {
  if (net) return net;
  // While the browser is offline no connection is attempted (each attempt
  // would only fail); the URL is handed out once it is back online.
  const socket = new ReconnectingWebSocket(() => whenIdentified().then(whenOnline).then(wsURL), undefined, {
    minReconnectionDelay: 300 + Math.random() * 400,
    maxReconnectionDelay: 4000,
    reconnectionDelayGrowFactor: 1.6,
    connectionTimeout: 5000,
    maxEnqueuedMessages: 0,
  });
  const connection = new sharedb.Connection(socket);
  const listeners = new Set<(l: Link) => void>();
  let everConnected = false;

  const link = (): Link => {
    const s: ConnectionState = connection.state;
    if (s === 'connected') return 'connected';
    if (!navigator.onLine) return 'offline';
    return everConnected ? 'reconnecting' : 'connecting';
  };
  let last = link();
  const notify = () => {
    const l = link();
    if (l === last) return;
    last = l;
    for (const fn of listeners) fn(l);
  };
  connection.on('state', (s) => {
    if (s === 'connected') everConnected = true;
    notify();
  });
  window.addEventListener('offline', () => {
    // The socket may linger half-open after the network went away: drop it
    // now, so the indicator is honest and edits queue locally.
    socket.reconnect();
    notify();
  });
  window.addEventListener('online', () => {
    if (connection.state !== 'connected') socket.reconnect();
    notify();
  });
  // The connection error event reports protocol errors to the page; the
  // views show them, so nothing is thrown from here.
  connection.on('error', () => {});

  net = {
    connection,
    link,
    onLink(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    reconnect() {
      socket.reconnect();
    },
  };
  return net;
}
