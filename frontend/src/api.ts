// The read-only HTTP API (docs/api.md).
import { withToken } from './identity';

export const DOCS = 'docs';
export const META = 'docs_meta';
export const RICH_TEXT_URI = 'http://sharejs.org/types/rich-text/v1';

export interface Meta {
  title?: string;
  created?: number;
}

export interface ListEntry<T = unknown> {
  id: string;
  v: number;
  type: string | null;
  mtime?: number;
  editors?: number;
  data?: T;
}

export class APIError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function getJSON<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(withToken(path), { headers: { Accept: 'application/json' }, signal: signal ?? null });
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      /* not JSON */
    }
    throw new APIError(res.status, code, message);
  }
  return (await res.json()) as T;
}

/** Every document of a collection (following `next` pages). */
export async function listAll<T>(collection: string, includeData: boolean, signal?: AbortSignal): Promise<ListEntry<T>[]> {
  const out: ListEntry<T>[] = [];
  let after: string | null = null;
  for (let page = 0; page < 50; page++) {
    const q = new URLSearchParams({ limit: '1000' });
    if (includeData) q.set('include', 'data');
    if (after !== null) q.set('after', after);
    const body: { docs: ListEntry<T>[]; next: string | null } = await getJSON(
      `/api/v1/docs/${encodeURIComponent(collection)}?${q}`,
      signal,
    );
    out.push(...body.docs);
    if (!body.next) break;
    after = body.next;
  }
  return out;
}

export interface Snapshot<T = unknown> {
  v: number;
  type: string | null;
  data?: T;
}

export function snapshot<T>(collection: string, id: string, signal?: AbortSignal): Promise<Snapshot<T>> {
  return getJSON(`/api/v1/docs/${encodeURIComponent(collection)}/${encodeURIComponent(id)}`, signal);
}

export function eventsURL(collection: string, id: string): string {
  return withToken(`/api/v1/docs/${encodeURIComponent(collection)}/${encodeURIComponent(id)}/events`);
}

/** A short random url-safe id (about 71 bits). */
export function newId(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}
