// Who the person at this browser is: a name and colour they chose (kept in
// localStorage), or, when the server runs with auth, the claims of their
// token (?token= on the page URL, then remembered).

const IDENTITY_KEY = 'tandem.identity';
const TOKEN_KEY = 'tandem.token';

export const PALETTE = [
  '#e8590c', // orange
  '#d6336c', // pink
  '#ae3ec9', // grape
  '#7048e8', // violet
  '#1c7ed6', // blue
  '#0c8599', // cyan
  '#2b8a3e', // green
  '#5c940d', // lime
  '#e03131', // red
  '#495057', // grey
] as const;

export interface Identity {
  name: string;
  color: string;
  /** Set when the identity comes from a token (then it cannot be edited here). */
  token?: string;
}

export interface TokenClaims {
  sub?: string;
  name?: string;
  color?: string;
  exp?: number;
  role?: string;
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: nothing is remembered
  }
}

/** Takes ?token= off the page URL (so it is not shared by copying the address) and remembers it. */
export function captureTokenFromURL(): void {
  const url = new URL(window.location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  if (token) storage()?.setItem(TOKEN_KEY, token);
  else storage()?.removeItem(TOKEN_KEY);
  url.searchParams.delete('token');
  window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
}

export function token(): string | null {
  return storage()?.getItem(TOKEN_KEY) || null;
}

export function forgetToken(): void {
  storage()?.removeItem(TOKEN_KEY);
}

/** The JWT's payload, decoded without verifying it (the server verifies). */
export function decodeClaims(jwt: string): TokenClaims | null {
  const part = jwt.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? (claims as TokenClaims) : null;
  } catch {
    return null;
  }
}

export function colorFor(seed: string): string {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length] ?? PALETTE[0];
}

export function isColor(s: unknown): s is string {
  return typeof s === 'string' && /^#[0-9a-f]{6}$/i.test(s);
}

/** The current identity, or null when the person has not chosen one yet. */
export function current(): Identity | null {
  const t = token();
  if (t) {
    const c = decodeClaims(t) ?? {};
    const name = (c.name || c.sub || 'Signed-in user').slice(0, 64);
    return { name, color: isColor(c.color) ? c.color : colorFor(c.sub || name), token: t };
  }
  const raw = storage()?.getItem(IDENTITY_KEY);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<Identity>;
    if (typeof v.name === 'string' && v.name.trim() && isColor(v.color)) {
      return { name: v.name.trim().slice(0, 64), color: v.color };
    }
  } catch {
    /* fall through: ask again */
  }
  return null;
}

export function save(name: string, color: string): Identity {
  const id = { name: name.trim().slice(0, 64), color };
  storage()?.setItem(IDENTITY_KEY, JSON.stringify(id));
  window.dispatchEvent(new CustomEvent('tandem:identity', { detail: id }));
  return id;
}

/** Appends ?token= (auth on) to an API or WebSocket URL. */
export function withToken(url: string): string {
  const t = token();
  if (!t) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(t);
}
