// WebSocket-like sockets over the server's HTTP fallbacks (docs/api.md,
// "WebSocket fallbacks"), for networks whose proxies refuse the WebSocket
// upgrade. They carry the very same ShareDB messages, so the sharedb client
// and reconnecting-websocket (its `WebSocket` option) use them unchanged:
//
//   SSESocket   messages down as Server-Sent Events (GET /sharedb/sse),
//               up as POST /sharedb/send
//   PollSocket  POST /sharedb/poll to open, then GET /sharedb/poll?id&ack
//               in a loop (long polling); up as POST /sharedb/send
//
// Both take the WebSocket URL (`ws(s)://host/ws?…`): the endpoints are
// `/sharedb/*` beside it (a path ending in `/ws` becomes `/sharedb`), and its
// query parameters (token, or name and color) go on the opening request.
//
// Like a WebSocket, a socket is one server connection: it never reconnects
// by itself. Whatever breaks it (the stream ending, a 410 or a network
// failure on a send, polls failing) closes it, and the owner (here
// reconnecting-websocket) opens a new one; the sharedb client then resends
// every op the server has not acknowledged.

/** How ShareDB messages travel, in the order they are tried. */
export type Transport = 'websocket' | 'sse' | 'poll';
export const TRANSPORTS: readonly Transport[] = ['websocket', 'sse', 'poll'];
export const TRANSPORT_NAMES: Record<Transport, string> = {
  websocket: 'WebSocket',
  sse: 'SSE',
  poll: 'Long polling',
};

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Close codes as a WebSocket reports them. */
const NORMAL = 1000;
const GOING_AWAY = 1001;
const ABNORMAL = 1006;

/** How long a poll may take before it is given up (the server answers within 20 s). */
const POLL_TIMEOUT_MS = 30_000;
/** Consecutive failed polls (each retried with the same ack) before the socket closes. */
const POLL_RETRIES = 3;
/** How long the opening request of a long-polling connection may take. */
const OPEN_TIMEOUT_MS = 10_000;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** What the socket's URL maps to: the `/sharedb` base and the opening request's query. */
function endpoints(url: string | URL): { base: string; query: URLSearchParams } {
  const u = new URL(url, window.location.href);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  else if (u.protocol === 'wss:') u.protocol = 'https:';
  const path = u.pathname.replace(/\/+$/, '');
  const base = /\/ws$/.test(path) ? path.slice(0, -3) + '/sharedb' : path || '/sharedb';
  return { base: u.origin + base, query: new URLSearchParams(u.search) };
}

async function describe(res: Response): Promise<string> {
  let code = '';
  try {
    const body: unknown = await res.json();
    const err = (body as { error?: { code?: unknown } } | null)?.error;
    if (err && typeof err.code === 'string') code = ` ${err.code}`;
  } catch {
    /* not JSON */
  }
  return `${res.status}${code}`;
}

type Handler<E extends Event> = ((this: unknown, ev: E) => unknown) | null;

/**
 * What both fallbacks share: the WebSocket surface (readyState, send, close,
 * on* handlers, add/removeEventListener) and the sending side, one POST at a
 * time, in order, with whatever was queued meanwhile batched into the next.
 */
abstract class HTTPSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  readonly url: string;
  readonly protocol = '';
  readonly extensions = '';
  binaryType: BinaryType = 'blob';
  readyState: number = CONNECTING;
  /** Characters accepted by send() and not yet handed to the server. */
  bufferedAmount = 0;

  onopen: Handler<Event> = null;
  onmessage: Handler<MessageEvent> = null;
  onclose: Handler<CloseEvent> = null;
  onerror: Handler<Event> = null;

  /** The server's connection id, once open. */
  protected id: string | null = null;
  protected readonly base: string;
  protected readonly query: URLSearchParams;
  /** Aborts every request of this socket when it closes. */
  protected readonly abort = new AbortController();

  private queue: string[] = [];
  private sending = false;
  private readonly onPageHide = () => this.close(GOING_AWAY, 'page left');

  constructor(url: string | URL) {
    super();
    this.url = String(url);
    ({ base: this.base, query: this.query } = endpoints(url));
    // The on* handlers behave as a WebSocket's: listeners like any other.
    for (const type of ['open', 'message', 'close', 'error'] as const) {
      this.addEventListener(type, (ev) => {
        const fn = this[`on${type}`] as Handler<Event>;
        fn?.call(this, ev);
      });
    }
    // Tell the server at once when the page goes (a WebSocket ends with its page).
    window.addEventListener('pagehide', this.onPageHide);
  }

  /** The URL of a fallback endpoint. */
  protected endpoint(name: 'sse' | 'poll' | 'send' | 'close', params: URLSearchParams | Record<string, string>): string {
    const q = new URLSearchParams(params).toString();
    return `${this.base}/${name}${q ? `?${q}` : ''}`;
  }

  /** The server accepted the connection. */
  protected opened(id: string): void {
    if (this.readyState !== CONNECTING) return;
    this.id = id;
    this.readyState = OPEN;
    this.dispatchEvent(new Event('open'));
    this.flush();
  }

  /** A frame from the server, in order. */
  protected received(data: string): void {
    if (this.readyState !== OPEN) return;
    this.dispatchEvent(new MessageEvent('message', { data }));
  }

  send(data: string): void {
    if (this.readyState === CONNECTING) {
      throw new DOMException("Failed to execute 'send': still in CONNECTING state.", 'InvalidStateError');
    }
    if (this.readyState !== OPEN) return; // as a WebSocket: dropped once closing
    const s = String(data);
    this.queue.push(s);
    this.bufferedAmount += s.length;
    this.flush();
  }

  /** Sends what is queued, one request at a time (the server handles each in order). */
  private flush(): void {
    if (this.sending || this.queue.length === 0 || this.readyState !== OPEN || !this.id) return;
    const batch = this.queue;
    this.queue = [];
    this.sending = true;
    const size = batch.reduce((n, m) => n + m.length, 0);
    fetch(this.endpoint('send', { id: this.id }), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: `[${batch.join(',')}]`,
      cache: 'no-store',
      credentials: 'same-origin',
      signal: this.abort.signal,
    }).then(
      async (res) => {
        this.sending = false;
        this.bufferedAmount = Math.max(0, this.bufferedAmount - size);
        if (res.ok) {
          this.flush();
          return;
        }
        // 410: the server no longer knows this connection. Anything else
        // refused the batch. Either way the connection is over; a new one
        // gets what the server has not acknowledged from the sharedb client.
        this.fail(`send answered ${await describe(res)}`, res.status !== 410);
      },
      () => {
        this.sending = false;
        // Whether the server got the batch is unknown: start again on a new
        // connection (the server recognises ops it has already committed).
        this.fail('send failed');
      },
    );
  }

  close(code: number = NORMAL, reason = ''): void {
    if (this.readyState === CLOSING || this.readyState === CLOSED) return;
    const wasOpen = this.readyState === OPEN;
    this.readyState = CLOSING;
    this.release(true);
    // As a WebSocket's, the close event comes after close() returns.
    setTimeout(() => this.finish(wasOpen ? code : ABNORMAL, reason, wasOpen, !wasOpen), 0);
  }

  /**
   * The connection broke: close with an error, as a WebSocket whose
   * connection fails. tell: the server may still hold it (not after a 410).
   */
  protected fail(reason: string, tell = true): void {
    if (this.readyState === CLOSING || this.readyState === CLOSED) return;
    this.release(tell);
    this.finish(ABNORMAL, reason, false, true);
  }

  /** The server ended the connection (with its reason, if it gave one). */
  protected ended(reason: string): void {
    if (this.readyState === CLOSING || this.readyState === CLOSED) return;
    this.release(false);
    this.finish(NORMAL, reason || 'closed by the server', true, false);
  }

  private released = false;
  /** Stops every request and, with tell, tells the server the connection is over. */
  private release(tell: boolean): void {
    if (this.released) return;
    this.released = true;
    window.removeEventListener('pagehide', this.onPageHide);
    this.queue = [];
    this.abort.abort();
    this.stop();
    if (tell && this.id && !this.endsWithStream) this.closeOnServer(this.id);
  }

  /** Tells the server that connection `id` is over (keepalive: sent even when the page is going away). */
  protected closeOnServer(id: string): void {
    fetch(this.endpoint('close', { id }), { method: 'POST', keepalive: true, cache: 'no-store' }).catch(() => {});
  }

  private finish(code: number, reason: string, wasClean: boolean, error: boolean): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.bufferedAmount = 0;
    if (error) this.dispatchEvent(new Event('error'));
    this.dispatchEvent(new CloseEvent('close', { code, reason, wasClean }));
  }

  /** Ends the transport's own download side. */
  protected abstract stop(): void;
  /** Whether ending the download side ends the server's connection too (no POST /sharedb/close needed). */
  protected abstract readonly endsWithStream: boolean;
}

/** Messages down as Server-Sent Events (EventSource), up as POSTs. */
export class SSESocket extends HTTPSocket {
  // The server ends the connection when its event stream ends.
  protected readonly endsWithStream = true;
  private readonly es: EventSource;

  constructor(url: string | URL) {
    super(url);
    const es = (this.es = new EventSource(this.endpoint('sse', this.query)));
    // The server's first event is named "open" too; EventSource's own open
    // event (the response arrived) is a plain Event, the server's a MessageEvent.
    es.addEventListener('open', (ev) => {
      if (!(ev instanceof MessageEvent)) return;
      let id: unknown;
      try {
        id = (JSON.parse(String(ev.data)) as { id?: unknown }).id;
      } catch {
        /* checked below */
      }
      if (typeof id === 'string' && id) this.opened(id);
      else this.fail('event stream opened without a connection id');
    });
    es.addEventListener('message', (ev) => this.received(String(ev.data)));
    es.addEventListener('close', (ev) => {
      let reason = '';
      try {
        reason = String(JSON.parse(String((ev as MessageEvent).data)));
      } catch {
        reason = String((ev as MessageEvent).data ?? '');
      }
      this.ended(reason);
    });
    // EventSource would reconnect by itself, as a new server connection the
    // sharedb client knows nothing of: the socket closes instead.
    es.addEventListener('error', () => this.fail('event stream failed'));
  }

  protected stop(): void {
    this.es.close();
  }
}

interface PollAnswer {
  messages?: unknown[];
  last?: number;
  closed?: string;
}

/** Long polling: POST /sharedb/poll opens, GET /sharedb/poll?id&ack brings what is new; POSTs up. */
export class PollSocket extends HTTPSocket {
  protected readonly endsWithStream = false;
  /** Index of the last frame delivered (the server forgets those up to it). */
  private ack = 0;

  constructor(url: string | URL) {
    super(url);
    void this.start();
  }

  protected stop(): void {
    /* the abort controller ends the poll in flight */
  }

  private async start(): Promise<void> {
    let id: unknown;
    try {
      const res = await fetch(this.endpoint('poll', this.query), {
        method: 'POST',
        cache: 'no-store',
        credentials: 'same-origin',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(OPEN_TIMEOUT_MS)]),
      });
      if (!res.ok) {
        this.fail(`opening answered ${await describe(res)}`);
        return;
      }
      id = ((await res.json()) as { id?: unknown }).id;
    } catch {
      this.fail('opening failed');
      return;
    }
    if (typeof id !== 'string' || !id) {
      this.fail('opened without a connection id');
      return;
    }
    if (this.readyState !== CONNECTING) {
      // Closed while opening: the server's connection is not needed.
      this.closeOnServer(id);
      return;
    }
    this.opened(id);
    void this.loop(id);
  }

  private async loop(id: string): Promise<void> {
    let failures = 0;
    while (this.readyState === OPEN) {
      let answer: PollAnswer;
      try {
        const res = await fetch(this.endpoint('poll', { id, ack: String(this.ack) }), {
          cache: 'no-store',
          credentials: 'same-origin',
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(POLL_TIMEOUT_MS)]),
        });
        if (res.status >= 400 && res.status < 500) {
          this.fail(`poll answered ${await describe(res)}`, res.status !== 410);
          return;
        }
        if (!res.ok) throw new Error(`poll answered ${res.status}`);
        answer = (await res.json()) as PollAnswer;
      } catch {
        if (this.readyState !== OPEN) return;
        // A lost answer loses nothing: the server keeps every frame after
        // ack until a poll acknowledges it, so poll again with the same ack.
        if (++failures > POLL_RETRIES) {
          this.fail('polling failed');
          return;
        }
        await sleep(250 * failures * failures, this.abort.signal);
        continue;
      }
      failures = 0;
      const messages = Array.isArray(answer.messages) ? answer.messages : [];
      const last = typeof answer.last === 'number' ? answer.last : this.ack + messages.length;
      // Frames are numbered from 1; these are last-n+1 … last.
      const first = last - messages.length + 1;
      messages.forEach((m, i) => {
        if (first + i > this.ack && this.readyState === OPEN) {
          this.ack = first + i;
          this.received(JSON.stringify(m));
        }
      });
      if (typeof answer.closed === 'string') {
        this.ended(answer.closed);
        return;
      }
    }
  }
}
