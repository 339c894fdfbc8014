// The parts of the sharedb@7 browser client this app uses (it ships no types).
declare module 'sharedb/lib/client' {
  export type Callback = (err?: ShareDBError | null) => void;

  export interface ShareDBError extends Error {
    code: string;
  }

  export interface OTType {
    name: string;
    uri: string;
    [key: string]: unknown;
  }

  export interface Emitter<E extends Record<string, (...args: never[]) => void>> {
    on<K extends keyof E & string>(event: K, fn: E[K]): this;
    once<K extends keyof E & string>(event: K, fn: E[K]): this;
    off<K extends keyof E & string>(event: K, fn: E[K]): this;
    removeListener<K extends keyof E & string>(event: K, fn: E[K]): this;
  }

  export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed' | 'stopped';

  export interface Doc<T = unknown>
    extends Emitter<{
      op: (op: unknown, source: unknown) => void;
      load: () => void;
      create: (source: unknown) => void;
      del: (data: T, source: unknown) => void;
      error: (err: ShareDBError) => void;
      'nothing pending': () => void;
    }> {
    readonly collection: string;
    readonly id: string;
    readonly version: number | null;
    readonly type: OTType | null;
    readonly data: T;
    readonly subscribed: boolean;
    readonly pendingOps: unknown[];
    readonly inflightOp: unknown;
    fetch(cb?: Callback): void;
    subscribe(cb?: Callback): void;
    unsubscribe(cb?: Callback): void;
    create(data: unknown, type?: string, cb?: Callback): void;
    create(data: unknown, cb?: Callback): void;
    submitOp(op: unknown, options?: { source?: unknown }, cb?: Callback): void;
    hasPending(): boolean;
    hasWritePending(): boolean;
    whenNothingPending(cb: () => void): void;
    destroy(cb?: Callback): void;
  }

  export interface LocalPresence<V> {
    readonly presenceId: string;
    value: V | null;
    submit(value: V | null, cb?: Callback): void;
    destroy(cb?: Callback): void;
  }

  export interface DocPresence<V>
    extends Emitter<{
      receive: (id: string, value: V | null) => void;
      error: (err: ShareDBError) => void;
    }> {
    readonly remotePresences: Record<string, V>;
    readonly localPresences: Record<string, LocalPresence<V>>;
    subscribe(cb?: Callback): void;
    unsubscribe(cb?: Callback): void;
    create(id?: string): LocalPresence<V>;
    destroy(cb?: Callback): void;
  }

  export interface Socket {
    readyState: number;
    send(data: string): void;
    close(code?: number, reason?: string): void;
    onopen: ((ev: Event) => void) | null;
    onclose: ((ev: CloseEvent) => void) | null;
    onerror: ((ev: Event) => void) | null;
    onmessage: ((ev: MessageEvent) => void) | null;
  }

  export class Connection
    implements
      Emitter<{
        state: (state: ConnectionState, reason: unknown) => void;
        connected: () => void;
        error: (err: ShareDBError) => void;
      }>
  {
    constructor(socket: unknown);
    readonly id: string | null;
    readonly state: ConnectionState;
    readonly canSend: boolean;
    get<T = unknown>(collection: string, id: string): Doc<T>;
    getDocPresence<V>(collection: string, id: string): DocPresence<V>;
    /** Whether a doc, query or snapshot request still waits for the server. */
    hasPending(): boolean;
    hasWritePending(): boolean;
    close(): void;
    on(event: 'state', fn: (state: ConnectionState, reason: unknown) => void): this;
    on(event: 'connected' | 'disconnected', fn: () => void): this;
    on(event: 'error', fn: (err: ShareDBError) => void): this;
    once(event: string, fn: (...args: unknown[]) => void): this;
    off(event: string, fn: (...args: never[]) => void): this;
    removeListener(event: string, fn: (...args: never[]) => void): this;
  }

  export const types: {
    register(type: unknown): void;
    map: Record<string, OTType>;
  };

  const sharedb: {
    Connection: typeof Connection;
    types: typeof types;
  };
  export default sharedb;
}

declare module 'rich-text' {
  export interface DeltaOp {
    insert?: string | Record<string, unknown>;
    retain?: number | Record<string, unknown>;
    delete?: number;
    attributes?: Record<string, unknown>;
  }
  export interface DeltaLike {
    ops: DeltaOp[];
  }
  export const type: {
    name: string;
    uri: string;
    create(initial?: DeltaOp[] | DeltaLike): DeltaLike;
    apply(snapshot: DeltaLike, op: DeltaOp[] | DeltaLike): DeltaLike;
    compose(a: DeltaOp[] | DeltaLike, b: DeltaOp[] | DeltaLike): DeltaLike;
    transformPresence<R extends { index: number; length: number }>(range: R, op: DeltaOp[] | DeltaLike, isOwnOp: boolean): R;
  };
  const richText: { type: typeof type };
  export default richText;
}

declare module 'inherits' {
  const inherits: (ctor: unknown, superCtor: unknown) => void;
  export default inherits;
}
