// Helpers for the browser tests: Debian's Chromium driven by playwright-core,
// pages that fail the test on any console error, and the server's view of a
// document (the read API, and a fresh fetch by a Node-side sharedb client).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import sharedb from 'sharedb/lib/client/index.js';
import richText from 'rich-text';

sharedb.types.register(richText.type);

export const BASE = process.env.TANDEM_URL ?? 'http://127.0.0.1:8080';
export const ARTIFACTS = process.env.E2E_ARTIFACTS ?? new URL('../../test-artifacts/', import.meta.url).pathname;
mkdirSync(ARTIFACTS, { recursive: true });

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value; fails with message (and the last value) on timeout. */
export async function waitFor(fn, { timeout = 15000, interval = 100, message = 'condition' } = {}) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() - start > timeout) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}; last: ${stringify(last)}`);
    }
    await sleep(interval);
  }
}

function stringify(v) {
  if (v instanceof Error) return v.message;
  try {
    const s = JSON.stringify(v);
    return s && s.length > 600 ? s.slice(0, 600) + '…' : s;
  } catch {
    return String(v);
  }
}

/**
 * Chromium kept off the network: nothing but the test server is contacted.
 * playwright-core refuses a --user-data-dir argument to launch(); it starts
 * Chromium with a fresh temporary --user-data-dir of its own (and deletes it
 * on close), which is what we want: no profile state carries over.
 */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--metrics-recording-only',
      '--no-default-browser-check',
      '--disable-domain-reliability',
      '--disable-client-side-phishing-detection',
    ],
  });
  return browser;
}

/**
 * A page in its own browser context (its own localStorage: a separate person).
 * `identity` pre-seeds the first-visit choice; errors collects console errors
 * and page errors, which the test asserts stay empty.
 */
export async function openPage(browser, { identity, viewport = { width: 1280, height: 860 }, label = 'page' } = {}) {
  const context = await browser.newContext({ viewport, baseURL: BASE, deviceScaleFactor: 1 });
  if (identity) {
    await context.addInitScript((id) => {
      if (!location.protocol.startsWith('http')) return; // about:blank has no storage
      if (!localStorage.getItem('tandem.identity')) localStorage.setItem('tandem.identity', JSON.stringify(id));
    }, identity);
  }
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'assert') errors.push(`[${label}] console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`[${label}] page error: ${err.stack ?? err.message}`));
  page.on('requestfailed', (req) => {
    // A viewer's stream is cut when its page closes; anything else is a bug.
    const failure = req.failure()?.errorText ?? '';
    if (!failure.includes('ERR_ABORTED')) errors.push(`[${label}] request failed: ${req.url()} ${failure}`);
  });
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  return { context, page, errors, sockets, label };
}

export function assertNoErrors(...pages) {
  const all = pages.flatMap((p) => p.errors);
  assert.deepEqual(all, [], 'no console errors or page errors');
}

/** The editor's state, read through the test hook the editor page exposes. */
export function editorState(page) {
  return page.evaluate(() => {
    const t = window.__tandem;
    if (!t) return null;
    return { ops: t.contents(), data: t.data(), v: t.version(), pending: t.pending(), text: t.text(), link: t.link() };
  });
}

export async function waitReady(page) {
  await page.waitForSelector('#app[data-ready="1"]', { timeout: 15000 });
}

/** Everything typed has reached the server (no pending op) on each page. */
export async function waitSettled(pages, message = 'pages settled') {
  await waitFor(
    async () => {
      const states = await Promise.all(pages.map((p) => editorState(p.page ?? p)));
      return states.every((s) => s && s.link === 'connected' && !s.pending) && states;
    },
    { timeout: 30000, message },
  );
}

/** Waits until all pages show the same contents, and returns them. */
export async function waitConverged(pages, message = 'pages converged') {
  let states;
  await waitFor(
    async () => {
      states = await Promise.all(pages.map((p) => editorState(p.page ?? p)));
      if (!states.every((s) => s && s.link === 'connected' && !s.pending)) return false;
      const first = JSON.stringify(states[0].ops);
      const v = states[0].v;
      return states.every((s) => JSON.stringify(s.ops) === first && s.v === v);
    },
    { timeout: 30000, message: `${message} (${states?.map((s) => s && `v${s.v} pending=${s.pending} ${s.link}`).join(' | ')})` },
  );
  return states;
}

/** The document as the server has it: the read API's snapshot, and a fresh sharedb fetch. */
export async function serverSnapshots(collection, id) {
  const out = {};
  const res = await fetch(`${BASE}/api/v1/docs/${collection}/${id}`);
  assert.equal(res.status, 200, `GET /api/v1/docs/${collection}/${id}`);
  out.api = await res.json();
  out.fetch = await sharedbFetch(collection, id);
  return out;
}

/**
 * The server's snapshot (read API and sharedb fetch) is rich text and equals
 * what the converged editors show (states: from waitConverged), and each
 * page's sharedb doc equals its Quill contents.
 */
export async function assertMatchesServer(id, states) {
  const snaps = await serverSnapshots('docs', id);
  for (const [name, snap] of Object.entries(snaps)) {
    assert.equal(snap.type, 'http://sharejs.org/types/rich-text/v1', `${name}: type`);
    assert.equal(snap.v, states[0].v, `${name}: version`);
    assert.deepEqual(snap.data.ops, states[0].ops, `${name}: the server's snapshot equals what the editors show`);
  }
  for (const s of states) assert.deepEqual(s.data.ops, s.ops, 'each page\'s sharedb doc equals its Quill contents');
}

export function sharedbFetch(collection, id) {
  const url = BASE.replace(/^http/, 'ws') + '/ws';
  const socket = new WebSocket(url);
  socket.on('error', () => {});
  const connection = new sharedb.Connection(socket);
  const doc = connection.get(collection, id);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sharedb fetch ${collection}/${id}: no answer`)), 10000);
    doc.fetch((err) => {
      clearTimeout(timer);
      const snap = { v: doc.version, type: doc.type?.uri ?? null, data: doc.data };
      connection.close();
      if (err) reject(err);
      else resolve(JSON.parse(JSON.stringify(snap)));
    });
  });
}

/** Plain text of delta ops (embeds as U+FFFC). */
export function textOf(ops) {
  return ops.map((o) => (typeof o.insert === 'string' ? o.insert : o.insert ? '\uFFFC' : '')).join('');
}

export async function screenshot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Creates a document through the list page's form and returns its id (the page ends on the editor). */
export async function createViaList(page, title) {
  await page.goto('/');
  await page.getByLabel('Title of the new document').fill(title);
  await page.getByRole('button', { name: 'New document' }).click();
  await page.waitForURL(/\/d\/[^/]+$/);
  await waitReady(page);
  return decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
}
