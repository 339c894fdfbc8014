// Editing where WebSocket upgrades are blocked: the page falls back by
// itself to Server-Sent Events down + POSTs up, and to long polling when the
// event stream is blocked too. Two editors co-edit and converge to the
// server's snapshot; a reconnect (and a lost answer) during the fallback
// loses nothing; and the page returns to WebSocket when it gets through.
//
// Playwright's page.route does not see WebSocket handshakes (it lets them
// through), so WebSockets to /ws are blocked with context.routeWebSocket,
// which closes them before they open, as a proxy refusing the upgrade
// would. A spy installed after the route records every WebSocket the page
// makes (in sessionStorage, across the page loads of a tab) to prove that
// none to /ws ever opened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ARTIFACTS,
  assertMatchesServer,
  createViaList,
  editorState,
  launch,
  openPage,
  screenshot,
  sleep,
  textOf,
  waitConverged,
  waitFor,
} from './lib.mjs';

const ANN = { name: 'Ann Lee', color: '#d6336c' };
const BOB = { name: 'Bob Stone', color: '#1c7ed6' };
const WS = /\/ws(\?|$)/;

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/**
 * A page whose WebSockets to /ws are refused (while p.wsBlocked), and, with
 * blockSSE ('abort' or 'hang'), whose event streams fail too. Counts the
 * fallback requests.
 */
async function blockedPage(identity, label, { blockSSE = false } = {}) {
  const p = await openPage(browser, { identity, label });
  p.wsBlocked = true;
  await p.context.routeWebSocket(WS, (ws) => {
    if (p.wsBlocked) ws.close({ code: 1006, reason: 'upgrade refused' });
    else ws.connectToServer();
  });
  // After the route, so that it wraps the routed WebSocket the page sees.
  await p.context.addInitScript(() => {
    if (!location.protocol.startsWith('http')) return;
    const Native = window.WebSocket;
    const KEY = 'e2e.websockets';
    const record = (entry) => {
      const all = JSON.parse(sessionStorage.getItem(KEY) || '[]');
      all.push(entry);
      sessionStorage.setItem(KEY, JSON.stringify(all));
      return all.length - 1;
    };
    const update = (i, event) => {
      const all = JSON.parse(sessionStorage.getItem(KEY) || '[]');
      all[i].events.push(event);
      sessionStorage.setItem(KEY, JSON.stringify(all));
    };
    window.WebSocket = class extends Native {
      constructor(url, protocols) {
        super(url, protocols);
        const i = record({ url: String(url), events: [] });
        this.addEventListener('open', () => update(i, 'open'));
        this.addEventListener('close', (e) => update(i, `close ${e.code}`));
      }
    };
  });
  p.requests = { sse: 0, pollOpen: 0, poll: 0, send: 0 };
  p.opening = []; // the URLs that open a fallback connection
  p.page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path === '/sharedb/sse') p.requests.sse++;
    else if (path === '/sharedb/poll') p.requests[r.method() === 'POST' ? 'pollOpen' : 'poll']++;
    else if (path === '/sharedb/send') p.requests.send++;
    if (path === '/sharedb/sse' || (path === '/sharedb/poll' && r.method() === 'POST')) p.opening.push(r.url());
  });
  // 'abort': the event stream fails at once; 'hang': it never answers (a
  // proxy that buffers it), so the page gives up on it after a few seconds.
  if (blockSSE === 'abort') await p.context.route(/\/sharedb\/sse/, (r) => r.abort('failed'));
  else if (blockSSE === 'hang') await p.context.route(/\/sharedb\/sse/, () => {});
  return p;
}

/** The WebSockets the page made (across its loads), with what happened to each. */
function websockets(p) {
  return p.page.evaluate(() => JSON.parse(sessionStorage.getItem('e2e.websockets') || '[]'));
}

/** The fallback is opened with the WebSocket URL's parameters: the name and colour (no token here). */
function assertIdentityCarried(p, identity) {
  assert.ok(p.opening.length > 0, `${p.label} opened a fallback connection`);
  for (const u of p.opening) {
    const q = new URL(u).searchParams;
    assert.deepEqual([q.get('name'), q.get('color')], [identity.name, identity.color], `${p.label}'s name and colour on ${u}`);
  }
}

async function assertNoWebSocketOpened(p) {
  const list = await websockets(p);
  const toWS = list.filter((w) => /\/ws(\?|$)/.test(w.url));
  assert.ok(toWS.length >= 2, `${p.label} tried WebSocket before falling back (${JSON.stringify(list)})`);
  assert.ok(toWS.every((w) => !w.events.includes('open') && w.events.some((e) => e.startsWith('close'))),
    `${p.label}: no WebSocket to /ws ever opened (${JSON.stringify(toWS)})`);
}

/**
 * Console errors and failed requests, less those the blocking and the
 * injected failures cause on purpose (the browser reports every failed
 * request: "Failed to load resource").
 */
function assertOnlyExpectedErrors(pages, allowed) {
  const unexpected = pages.flatMap((p) => p.errors).filter((e) => !allowed.some((re) => re.test(e)));
  assert.deepEqual(unexpected, [], 'no console errors, page errors or failed requests beyond those caused on purpose');
}
const FAILED_LOAD = /console\.error: Failed to load resource: net::ERR_(FAILED|INTERNET_DISCONNECTED)$/;

async function status(p) {
  const el = p.page.locator('[data-testid="status"]');
  return { text: (await el.innerText()).replace(/\s+/g, ' ').trim(), transport: await el.getAttribute('data-transport'),
    link: await el.getAttribute('data-link'), unsent: await el.getAttribute('data-unsent') };
}

async function waitStatus(p, link, transport) {
  return waitFor(async () => {
    const s = await status(p);
    return s.link === link && s.transport === transport && s.unsent === '0' && s;
  }, { message: `${p.label}'s indicator: ${link} over ${transport}` });
}

function count(haystack, needle) {
  return haystack.split(needle).length - 1;
}

/** Both open the document; each line written by one of them. */
async function startDocument(a, b, title) {
  const id = await createViaList(a.page, title);
  await b.page.goto(`/d/${id}`);
  // Falling back past an event stream that never answers takes two timeouts.
  await b.page.waitForSelector('#app[data-ready="1"]', { timeout: 30000 });
  for (const [p, other] of [[a, BOB], [b, ANN]]) {
    await waitFor(() => p.page.locator(`[data-testid="presence-list"] [data-name="${other.name}"]`).count(),
      { message: `${p.label} sees ${other.name} in the presence list` });
  }
  await a.page.locator('.ql-editor').click();
  await a.page.keyboard.type('Ann:\nBob:', { delay: 5 });
  await waitConverged([a, b], 'the two lines are shared');
  await a.page.keyboard.press('Control+Home');
  await a.page.keyboard.press('End');
  await b.page.locator('.ql-editor').click();
  await b.page.keyboard.press('Control+End');
  return id;
}

test('WebSockets blocked: two editors co-edit over SSE + POST, converge, and move to WebSocket once it gets through', { timeout: 90000 }, async () => {
  const a = await blockedPage(ANN, 'ann');
  const b = await blockedPage(BOB, 'bob');
  try {
    const id = await startDocument(a, b, 'Behind a proxy');
    for (const p of [a, b]) {
      const s = await waitStatus(p, 'connected', 'sse');
      assert.equal(s.text, 'Live · SSE', `${p.label}'s indicator names the transport`);
    }

    // Concurrent typing and formatting. Ann's sends are held up for a while
    // (a slow proxy): still one request at a time, and what is queued
    // meanwhile goes together in the next one.
    const sends = { inFlight: 0, maxInFlight: 0, batches: [] };
    await a.context.route(/\/sharedb\/send/, async (route) => {
      sends.maxInFlight = Math.max(sends.maxInFlight, ++sends.inFlight);
      sends.batches.push(JSON.parse(route.request().postData()).map((m) => m.a));
      await sleep(250);
      sends.inFlight--;
      return route.continue().catch(() => {});
    });
    const annText = ' typed over SSE 🎉 with ünïcödé';
    const bobText = ' typed at the same time 🚀';
    await Promise.all([a.page.keyboard.type(annText, { delay: 12 }), b.page.keyboard.type(bobText, { delay: 12 })]);
    // A new title (an op on docs_meta, sent on Enter) and at once a letter
    // in the text (an op on docs and a cursor move): the last two wait
    // behind the first and leave together.
    await a.page.locator('.title-input').click();
    await a.page.keyboard.press('End');
    await a.page.keyboard.type(' (draft)');
    await a.page.keyboard.press('Enter'); // saves the title, back to the text
    await a.page.keyboard.type('!');
    await waitFor(() => sends.batches.some((b) => b.length > 1), { message: `a batched send (${JSON.stringify(sends.batches)})` });
    await waitFor(async () => !(await editorState(a.page)).pending && sends.inFlight === 0, { message: 'Ann\'s sends done' });
    await a.context.unroute(/\/sharedb\/send/);
    assert.equal(sends.maxInFlight, 1, 'one send request at a time');
    await waitFor(async () => (await b.page.locator('.title-input').inputValue()) === 'Behind a proxy (draft)',
      { message: 'Bob sees the new title' });
    await a.page.keyboard.press('Control+Home');
    await a.page.keyboard.press('Shift+End');
    await a.page.keyboard.press('Control+B'); // Ann bolds her line
    await b.page.locator('.ql-toolbar button.ql-italic').click();
    await Promise.all([
      b.page.keyboard.type(' and italic from Bob.', { delay: 10 }),
      (async () => {
        await a.page.keyboard.press('End');
        await a.page.keyboard.press('Enter');
        await a.page.locator('.ql-toolbar .ql-header .ql-picker-label').click();
        await a.page.locator('.ql-toolbar .ql-header .ql-picker-item[data-value="2"]').click();
        await a.page.keyboard.type('A heading', { delay: 10 });
      })(),
    ]);

    const states = await waitConverged([a, b], 'both editors show the same document');
    const text = textOf(states[0].ops);
    for (const piece of ['Ann:' + annText + '!', 'Bob:' + bobText + ' and italic from Bob.', 'A heading']) {
      assert.equal(count(text, piece), 1, `the document contains ${JSON.stringify(piece)} once: ${JSON.stringify(text)}`);
    }
    const ops = states[0].ops;
    assert.ok(ops.some((o) => o.attributes?.bold && String(o.insert).includes('typed over SSE')), 'Ann\'s bold line');
    assert.ok(ops.some((o) => o.attributes?.italic && String(o.insert).includes('and italic from Bob')), 'Bob\'s italic text');
    assert.ok(ops.some((o) => o.attributes?.header === 2), 'a level-2 heading');
    await assertMatchesServer(id, states);

    for (const [p, who] of [[a, ANN], [b, BOB]]) {
      await assertNoWebSocketOpened(p);
      assertIdentityCarried(p, who);
      assert.ok(p.requests.sse >= 1 && p.requests.send > 0, `${p.label} used SSE and POST (${JSON.stringify(p.requests)})`);
      assert.equal(p.requests.pollOpen + p.requests.poll, 0, `${p.label} did not need long polling`);
      assert.equal(await p.page.evaluate(() => sessionStorage.getItem('tandem.transport')), 'sse', 'the tab remembers SSE');
    }
    await waitFor(() => a.page.locator('.ql-cursor .ql-cursor-name', { hasText: BOB.name }).isVisible(),
      { message: 'Ann sees Bob\'s cursor' });
    await sleep(300);
    console.log('screenshot:', await screenshot(a.page, 'fallback-sse'));
    console.log('screenshot:', await screenshotStatus(a.page, 'fallback-sse-indicator'));

    // The proxy lets WebSockets through again: the page checks (it does
    // so every few minutes by itself) and moves over, losing nothing.
    a.wsBlocked = false;
    assert.equal(await a.page.evaluate(() => window.__tandem.tryWebSocket()), true, 'Ann\'s page switches to WebSocket');
    await a.page.keyboard.type(' Back on WebSocket.', { delay: 10 });
    await waitStatus(a, 'connected', 'websocket');
    assert.equal((await status(a)).text, 'Live · WebSocket');
    const after = await waitConverged([a, b], 'converged after the switch to WebSocket');
    assert.equal(count(textOf(after[0].ops), 'A heading Back on WebSocket.'), 1, 'typed after the switch');
    await assertMatchesServer(id, after);
    assert.equal(await a.page.evaluate(() => sessionStorage.getItem('tandem.transport')), 'websocket');
    console.log('screenshot:', await screenshotStatus(a.page, 'fallback-websocket-indicator'));
    assertOnlyExpectedErrors([a, b], []);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('WebSockets and event streams blocked (failing, or never answering): two editors co-edit over long polling and converge', { timeout: 90000 }, async () => {
  const a = await blockedPage(ANN, 'ann', { blockSSE: 'abort' });
  const b = await blockedPage(BOB, 'bob', { blockSSE: 'hang' });
  try {
    const id = await startDocument(a, b, 'Long polling');
    for (const p of [a, b]) {
      const s = await waitStatus(p, 'connected', 'poll');
      assert.equal(s.text, 'Live · Long polling', `${p.label}'s indicator names the transport`);
    }
    const annText = ' polled 🐢 and still live';
    const bobText = ' also polling';
    await Promise.all([a.page.keyboard.type(annText, { delay: 12 }), b.page.keyboard.type(bobText, { delay: 12 })]);
    await b.page.keyboard.press('Shift+Home');
    await b.page.keyboard.press('Control+U'); // Bob underlines his line
    await b.page.keyboard.press('End');
    await a.page.keyboard.press('Enter');
    await a.page.locator('.ql-toolbar button.ql-list[value="bullet"]').click();
    await Promise.all([
      a.page.keyboard.type('a bullet', { delay: 10 }),
      b.page.keyboard.type(' more', { delay: 10 }),
    ]);
    const states = await waitConverged([a, b], 'both editors show the same document');
    const text = textOf(states[0].ops);
    for (const piece of ['Ann:' + annText, 'Bob:' + bobText + ' more', 'a bullet']) {
      assert.equal(count(text, piece), 1, `the document contains ${JSON.stringify(piece)} once: ${JSON.stringify(text)}`);
    }
    assert.ok(states[0].ops.some((o) => o.attributes?.underline && String(o.insert).includes('also polling')), 'Bob\'s underline');
    assert.ok(states[0].ops.some((o) => o.attributes?.list === 'bullet'), 'Ann\'s bullet');
    await assertMatchesServer(id, states);
    for (const [p, who] of [[a, ANN], [b, BOB]]) {
      await assertNoWebSocketOpened(p);
      assertIdentityCarried(p, who);
      assert.ok(p.requests.pollOpen >= 1 && p.requests.poll > 0 && p.requests.send > 0,
        `${p.label} used long polling (${JSON.stringify(p.requests)})`);
      assert.ok(p.requests.sse >= 2, `${p.label} tried SSE first (${JSON.stringify(p.requests)})`);
      assert.equal(await p.page.evaluate(() => sessionStorage.getItem('tandem.transport')), 'poll', 'the tab remembers long polling');
    }
    console.log('screenshot:', await screenshot(a.page, 'fallback-poll'));
    console.log('screenshot:', await screenshotStatus(a.page, 'fallback-poll-indicator'));
    await a.page.setViewportSize({ width: 390, height: 760 });
    await sleep(300);
    console.log('screenshot:', await screenshot(a.page, 'fallback-poll-phone'));
    // The only failures: the blocked event streams.
    assertOnlyExpectedErrors([a, b], [/request failed: \S+\/sharedb\/sse\?\S* net::ERR_FAILED$/, FAILED_LOAD]);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('a reconnect during the fallback loses nothing: a send whose answer is lost, a poll answer lost, a moment offline', { timeout: 120000 }, async () => {
  // Ann on SSE, Bob on long polling: one document, both fallbacks at once.
  const a = await blockedPage(ANN, 'ann');
  const b = await blockedPage(BOB, 'bob', { blockSSE: 'abort' });
  try {
    const id = await startDocument(a, b, 'Reconnects');
    await waitStatus(a, 'connected', 'sse');
    await waitStatus(b, 'connected', 'poll');
    const sseBefore = a.requests.sse;
    const pollOpensBefore = b.requests.pollOpen;

    // 1. One of Ann's sends reaches the server, which applies it, but the
    //    answer is lost: her socket closes and reconnects over a new event
    //    stream, and the sharedb client resends what was unacknowledged
    //    (the server knows it has it). Meanwhile one of Bob's polls that
    //    carries Ann's edits loses its answer: Bob polls again with the same
    //    ack and misses nothing, without reconnecting.
    const lost = { send: null, poll: null };
    await a.context.route(/\/sharedb\/send/, async (route) => {
      if (lost.send || !route.request().postData()?.includes('"a":"op"')) return route.continue().catch(() => {});
      const res = await route.fetch(); // the server handles it…
      lost.send = { status: res.status(), body: route.request().postData() };
      return route.abort('failed'); // …and the page never hears back
    });
    await b.context.route(/\/sharedb\/poll\?/, async (route) => {
      if (lost.poll) return route.continue().catch(() => {});
      const res = await route.fetch();
      const body = await res.json();
      if (!body.messages?.some((m) => m.a === 'op')) return route.fulfill({ response: res, json: body });
      lost.poll = { url: route.request().url(), frames: body.messages.length, last: body.last };
      return route.abort('failed');
    });
    const annOnline = ' Ann types through a lost answer ✍️;';
    const bobOnline = ' Bob polls through one;';
    await Promise.all([a.page.keyboard.type(annOnline, { delay: 25 }), b.page.keyboard.type(bobOnline, { delay: 25 })]);
    await waitFor(() => lost.send && lost.poll, { message: 'a send answer and a poll answer were lost' });
    assert.equal(lost.send.status, 204, 'the server had applied the send whose answer was lost');
    await waitFor(() => a.requests.sse > sseBefore, { message: 'Ann reconnected over a new event stream' });
    await a.context.unroute(/\/sharedb\/send/);
    await b.context.unroute(/\/sharedb\/poll\?/);
    const afterLoss = await waitConverged([a, b], 'converged after the lost answers');
    const t1 = textOf(afterLoss[0].ops);
    assert.equal(count(t1, annOnline), 1, `Ann's text once, not lost nor doubled: ${JSON.stringify(t1)}`);
    assert.equal(count(t1, bobOnline), 1, `Bob's text once: ${JSON.stringify(t1)}`);
    assert.equal(b.requests.pollOpen, pollOpensBefore, 'a lost poll answer costs Bob no reconnect (the ack protocol)');
    const bobPollURL = new URL(lost.poll.url);
    assert.ok(Number(bobPollURL.searchParams.get('ack')) < lost.poll.last, 'the lost answer carried frames after the ack');

    // 2. Both go offline for a moment while typing, and come back.
    const annOffline = ' Ann, briefly offline.';
    const bobOffline = ' Bob, briefly offline.';
    const typing = Promise.all([a.page.keyboard.type(annOffline, { delay: 30 }), b.page.keyboard.type(bobOffline, { delay: 30 })]);
    await sleep(150);
    await a.context.setOffline(true);
    await b.context.setOffline(true);
    await waitFor(async () => (await status(a)).link === 'offline' && (await status(b)).link === 'offline',
      { message: 'both indicators show offline' });
    await sleep(200);
    const offlineStatus = await status(a);
    console.log('screenshot:', await screenshotStatus(a.page, 'fallback-offline-indicator'));
    await a.context.setOffline(false);
    await b.context.setOffline(false);
    await typing;
    const states = await waitConverged([a, b], 'converged after being offline');
    const text = textOf(states[0].ops);
    for (const piece of [annOnline, bobOnline, annOffline, bobOffline]) {
      assert.equal(count(text, piece), 1, `${JSON.stringify(piece)} once: ${JSON.stringify(text)}`);
    }
    assert.ok(text.startsWith('Ann:' + annOnline + annOffline), `Ann's line is in order: ${JSON.stringify(text)}`);
    assert.ok(text.includes('Bob:' + bobOnline + bobOffline), `Bob's line is in order: ${JSON.stringify(text)}`);
    await assertMatchesServer(id, states);
    assert.ok(b.requests.pollOpen > pollOpensBefore, 'Bob reconnected by long polling after being offline');
    await waitStatus(a, 'connected', 'sse');
    await waitStatus(b, 'connected', 'poll');
    assert.match(offlineStatus.text, /^Offline( · \d+ unsent edits?)?$/, `offline while on SSE: ${offlineStatus.text}`);
    for (const p of [a, b]) await assertNoWebSocketOpened(p);
    assertOnlyExpectedErrors([a, b], [
      /request failed: \S+\/sharedb\/(sse|send|poll|close)\?\S* net::ERR_(FAILED|INTERNET_DISCONNECTED)$/,
      /request failed: \S+\/healthz net::ERR_INTERNET_DISCONNECTED$/,
      FAILED_LOAD,
    ]);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

/** A close-up of the top bar's right side (people, indicator, share, identity). */
async function screenshotStatus(page, name) {
  const box = await page.locator('.topbar-tools').boundingBox();
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, clip: { x: box.x - 8, y: box.y - 8, width: box.width + 16, height: box.height + 16 } });
  return path;
}
