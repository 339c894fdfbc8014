// With auth on (`--auth-secret`), the identity comes from the token: the
// page takes ?token= off its URL, remembers it, shows the name from its
// claims, and sends it on the WebSocket and the viewer's event stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:net';
import { assertNoErrors, launch, sleep, waitFor, waitReady } from './lib.mjs';

const BIN = process.env.TANDEM_BIN ?? new URL('../../bin/tandem', import.meta.url).pathname;
const SECRET = 'e2e-secret-not-for-production';

function jwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let browser;
let server;
let base;
let serverLog = '';

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--addr', `127.0.0.1:${port}`, '--store', 'memory', '--auth-secret', SECRET], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, { message: `auth server up (${serverLog})` });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
});

async function open(label, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, baseURL: base });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(`[${label}] console.error: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(`[${label}] page error: ${e.message}`));
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  return { context, page, errors, sockets, label };
}

test('the token names the editor: no dialog, its name in presence, the token on WebSocket and SSE', { timeout: 90000 }, async () => {
  const annToken = jwt({ sub: 'u-ann', name: 'Ann Token', color: '#7048e8', role: 'editor' });
  const bobToken = jwt({ sub: 'u-bob', name: 'Bob Token', role: 'editor' }); // no colour claim
  const viewToken = jwt({ sub: 'u-vic', name: 'Vic Viewer', role: 'viewer' });
  const a = await open('ann');
  const b = await open('bob');
  const v = await open('viewer');
  try {
    await a.page.goto(`/?token=${annToken}`);
    await a.page.waitForSelector('.doc-list[aria-busy="false"]');
    assert.equal(new URL(a.page.url()).search, '', 'the token is taken off the address bar');
    assert.equal(await a.page.locator('dialog[open]').count(), 0, 'no name dialog with a token');
    assert.equal(await a.page.locator('.identity-chip .chip-name').innerText(), 'Ann Token');
    assert.equal(await a.page.locator('.identity-chip button').count(), 0, 'a token identity cannot be edited here');

    await a.page.getByLabel('Title of the new document').fill('Signed-in notes');
    await a.page.keyboard.press('Enter');
    await a.page.waitForURL(/\/d\/[^/]+$/);
    await waitReady(a.page);
    const id = new URL(a.page.url()).pathname.split('/').pop();
    assert.ok(a.sockets.length > 0 && a.sockets.every((u) => new URL(u).searchParams.get('token') === annToken),
      `WebSockets carry the token: ${a.sockets}`);
    await a.page.keyboard.type('Hello from a token.', { delay: 5 });

    await b.page.goto(`/d/${id}?token=${bobToken}`);
    await waitReady(b.page);
    await waitFor(() => b.page.locator('.ql-cursor .ql-cursor-name', { hasText: 'Ann Token' }).isVisible(),
      { message: 'Bob sees Ann\'s cursor named from her token' });
    const flag = await b.page.locator('.ql-cursor .ql-cursor-flag').first().evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(flag, 'rgb(112, 72, 232)', 'in the colour from her token');
    await waitFor(() => a.page.locator('[data-testid="presence-list"] [data-name="Bob Token"]').count(),
      { message: 'Ann sees Bob (named by his token) in who is here' });

    await v.page.goto(`/v/${id}?token=${viewToken}`);
    await waitReady(v.page);
    await waitFor(async () => (await v.page.locator('.ql-editor').innerText()).includes('Hello from a token.'),
      { message: 'the viewer shows the text over an authorised event stream' });
    await waitFor(async () => (await v.page.locator('[data-testid="presence-list"] [data-name]').count()) === 2,
      { message: 'the viewer lists both editors' });
    assert.deepEqual(v.sockets, [], 'the viewer opened no WebSocket');
    await sleep(200);
    assertNoErrors(a, b, v);
  } finally {
    await a.context.close();
    await b.context.close();
    await v.context.close();
  }
});

test('with WebSockets blocked, the token goes on the HTTP fallback: edits over SSE are accepted as the token\'s', { timeout: 60000 }, async () => {
  const token = jwt({ sub: 'u-cal', name: 'Cal Proxy', color: '#0c8599', role: 'editor' });
  const c = await open('cal');
  const peer = await open('peer');
  try {
    await c.context.routeWebSocket(/\/ws(\?|$)/, (ws) => ws.close({ code: 1006, reason: 'upgrade refused' }));
    const opening = [];
    c.page.on('request', (r) => new URL(r.url()).pathname === '/sharedb/sse' && opening.push(r.url()));
    await c.page.goto(`/?token=${token}`);
    await c.page.waitForSelector('.doc-list[aria-busy="false"]');
    await c.page.getByLabel('Title of the new document').fill('Typed behind a proxy');
    await c.page.keyboard.press('Enter');
    await c.page.waitForURL(/\/d\/[^/]+$/);
    await waitReady(c.page);
    const id = new URL(c.page.url()).pathname.split('/').pop();
    await c.page.keyboard.type('Signed in, over SSE.', { delay: 5 });
    await waitFor(() => c.page.evaluate(() => window.__tandem.link() === 'connected' && !window.__tandem.pending()),
      { message: 'the server accepted the edits' });
    assert.equal(await c.page.evaluate(() => window.__tandem.transport()), 'sse');
    assert.ok(opening.length > 0 && opening.every((u) => new URL(u).searchParams.get('token') === token),
      `the event streams carry the token: ${opening}`);

    // Another editor (over WebSocket) sees the text and Cal's name from the token.
    await peer.page.goto(`/d/${id}?token=${jwt({ sub: 'u-pat', name: 'Pat Peer', role: 'editor' })}`);
    await waitReady(peer.page);
    await waitFor(async () => (await peer.page.locator('.ql-editor').innerText()).includes('Signed in, over SSE.'),
      { message: 'the peer has the text' });
    await waitFor(() => peer.page.locator('[data-testid="presence-list"] [data-name="Cal Proxy"]').count(),
      { message: 'the peer sees Cal by the token\'s name' });
    assertNoErrors(c, peer);
  } finally {
    await c.context.close();
    await peer.context.close();
  }
});
