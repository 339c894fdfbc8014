// One ShareDB connection per page over a socket that reconnects by itself
// (reconnecting-websocket). The socket is a WebSocket where the network lets
// one through, else one of the server's HTTP fallbacks (./transports): SSE
// down and POSTs up, or long polling. The sharedb client keeps
// unacknowledged ops across reconnects and resends them, so no local edit
// is lost while offline, nor when the transport changes (a change of
// transport is a reconnect of the same Connection).
import ReconnectingWebSocket from 'reconnecting-websocket';
import sharedb, { type Connection, type ConnectionState } from 'sharedb/lib/client';
import richText from 'rich-text';
import * as identity from './identity';
import { PollSocket, SSESocket, TRANSPORTS, type Transport } from './transports';

sharedb.types.register(richText.type);

export type Link = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export type { Transport };

export interface Net {
  connection: Connection;
  /** The link as shown to the person. */
  link(): Link;
  /** The transport in use (while connecting: the one being tried). */
  transport(): Transport;
  /** Called when the link or the transport changes. */
  onLink(fn: (l: Link) => void): () => void;
  /** Reconnects now (e.g. after the identity changed, so the server learns the new name). */
  reconnect(): void;
  /**
   * On a fallback: checks whether a WebSocket gets through now and, if it
   * does and nothing is pending, moves the connection to it. Runs by itself
   * every few minutes; exposed for tests and debugging.
   */
  tryWebSocket(): Promise<boolean>;
}

/** Failures to open, in a row, with the server reachable, before the next transport is tried. */
const FAILURES_BEFORE_FALLBACK = 2;
/** The same for a transport that has worked on this page (it was a network problem, most likely). */
const FAILURES_BEFORE_FALLBACK_AFTER_OPEN = 5;
/** How often a page on a fallback checks whether WebSockets get through again. */
const UPGRADE_EVERY_MS = 3 * 60_000;
const PROBE_TIMEOUT_MS = 5000;
/** sessionStorage: the transport that last worked, so a reload starts with it. */
const TRANSPORT_KEY = 'tandem.transport';

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

function session(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: every page starts with WebSocket
  }
}

function rememberedTransport(): Transport {
  const t = session()?.getItem(TRANSPORT_KEY);
  return TRANSPORTS.find((x) => x === t) ?? 'websocket';
}

/**
 * Whether the server answers plain HTTP: if not (the network is down, or a
 * proxy says the server is: 5xx), a failed socket says nothing about its
 * transport. Any other answer will do (a proxy may not route /healthz).
 */
async function serverReachable(): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', window.location.href), { cache: 'no-store', signal: AbortSignal.timeout(4000) });
    return res.status < 500;
  } catch {
    return false;
  }
}

/** Opens a WebSocket on the side (bound to nothing) to see whether the network lets it through. */
function probeWebSocket(): Promise<boolean> {
  return new Promise((resolve) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(wsURL());
    } catch {
      resolve(false);
      return;
    }
    const done = (ok: boolean) => {
      clearTimeout(timer);
      ws.onopen = ws.onerror = ws.onclose = null;
      try {
        ws.close(1000, 'probe');
      } catch {
        /* already closed */
      }
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    ws.onopen = () => done(true);
    ws.onerror = ws.onclose = () => done(false);
  });
}

type AnySocket = WebSocket | SSESocket | PollSocket;

export function getNet(): Net {
  if (net) return net;

  // --- which transport ---------------------------------------------------------
  // Start with the one that last worked in this tab's session (else WebSocket).
  // A transport that fails to open FAILURES_BEFORE_FALLBACK times in a row
  // while the server answers plain HTTP (so it is the transport that is
  // blocked, not the server that is down or the network that is gone) gives
  // way to the next: WebSocket, SSE, long polling, then round again.
  let current: Transport = rememberedTransport();
  let inUse: Transport = current; // of the socket that last opened
  const opened = new Set<Transport>(); // transports that have opened on this page
  let failures = 0;
  let live: AnySocket | null = null;
  const dismissed = new WeakSet<object>(); // sockets closed on purpose: not failures

  const failedToOpen = async (t: Transport) => {
    if (t !== current || !navigator.onLine) return;
    if (!(await serverReachable()) || t !== current) return;
    failures++;
    if (failures < (opened.has(t) ? FAILURES_BEFORE_FALLBACK_AFTER_OPEN : FAILURES_BEFORE_FALLBACK)) return;
    failures = 0;
    current = TRANSPORTS[(TRANSPORTS.indexOf(t) + 1) % TRANSPORTS.length] ?? 'websocket';
    // Try it at once (this also resets the growing delay between attempts,
    // and replaces an attempt of the old transport begun meanwhile).
    reconnectSocket();
    notify();
  };

  const openSocket = (url: string): AnySocket => {
    const t = current;
    // The global WebSocket is read now, not at load, so a wrapped one (tests) is used.
    const s: AnySocket = t === 'websocket' ? new WebSocket(url) : t === 'sse' ? new SSESocket(url) : new PollSocket(url);
    live = s;
    let didOpen = false;
    s.addEventListener('open', () => {
      didOpen = true;
      failures = 0;
      opened.add(t);
      inUse = t;
      try {
        session()?.setItem(TRANSPORT_KEY, t);
      } catch {
        /* storage full or refused: not remembered */
      }
      notify();
    });
    s.addEventListener('close', () => {
      if (!didOpen && !dismissed.has(s)) void failedToOpen(t);
    });
    return s;
  };

  // What reconnecting-websocket constructs: the socket of the current
  // transport (a constructor may return another object).
  class Socket {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    constructor(url: string) {
      return openSocket(url) as unknown as Socket;
    }
  }

  // While the browser is offline no connection is attempted (each attempt
  // would only fail); the URL is handed out once it is back online.
  const socket = new ReconnectingWebSocket(() => whenIdentified().then(whenOnline).then(wsURL), undefined, {
    WebSocket: Socket,
    minReconnectionDelay: 300 + Math.random() * 400,
    maxReconnectionDelay: 4000,
    reconnectionDelayGrowFactor: 1.6,
    connectionTimeout: 5000,
    maxEnqueuedMessages: 0,
  });
  /** Closes the socket on purpose and opens a new one (of the current transport). */
  const reconnectSocket = () => {
    if (live) dismissed.add(live);
    socket.reconnect();
  };

  const connection = new sharedb.Connection(socket);
  const listeners = new Set<(l: Link) => void>();
  let everConnected = false;

  const link = (): Link => {
    const s: ConnectionState = connection.state;
    if (s === 'connected') return 'connected';
    if (!navigator.onLine) return 'offline';
    return everConnected ? 'reconnecting' : 'connecting';
  };
  const transport = (): Transport => (connection.state === 'connected' ? inUse : current);
  let last = '';
  function notify() {
    const l = link();
    const key = `${l} ${transport()}`;
    if (key === last) return;
    last = key;
    for (const fn of listeners) fn(l);
  }
  notify();
  connection.on('state', (s) => {
    if (s === 'connected') everConnected = true;
    notify();
  });
  window.addEventListener('offline', () => {
    // The socket may linger half-open after the network went away: drop it
    // now, so the indicator is honest and edits queue locally.
    reconnectSocket();
    notify();
  });
  window.addEventListener('online', () => {
    if (connection.state !== 'connected') reconnectSocket();
    notify();
  });
  // The connection error event reports protocol errors to the page; the
  // views show them, so nothing is thrown from here.
  connection.on('error', () => {});

  // --- back to WebSocket ---------------------------------------------------------
  // A page on a fallback checks now and then, with a WebSocket of its own,
  // whether WebSockets get through again (another network, a proxy fixed).
  // If so, and the sharedb client has nothing in flight, it reconnects over
  // WebSocket; even with something in flight nothing would be lost (the
  // client resends it), but there is no need to.
  let probing = false;
  const tryWebSocket = async (): Promise<boolean> => {
    if (probing || current === 'websocket' || connection.state !== 'connected') return false;
    probing = true;
    try {
      if (!(await probeWebSocket())) return false;
      // (current may have changed while the probe ran.)
      if ((current as Transport) === 'websocket' || connection.state !== 'connected' || connection.hasPending()) return false;
      current = 'websocket';
      failures = 0;
      reconnectSocket();
      notify();
      return true;
    } finally {
      probing = false;
    }
  };
  window.setInterval(() => {
    if (document.visibilityState === 'visible') void tryWebSocket();
  }, UPGRADE_EVERY_MS);

  net = {
    connection,
    link,
    transport,
    onLink(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    reconnect() {
      reconnectSocket();
    },
    tryWebSocket,
  };
  return net;
}
