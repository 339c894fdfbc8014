// The read-only viewer: rendered live from the SSE stream alone (no
// WebSocket), with both editors in its presence list and their cursors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertNoErrors,
  createViaList,
  launch,
  openPage,
  screenshot,
  serverSnapshots,
  sleep,
  textOf,
  waitConverged,
  waitFor,
  waitReady,
} from './lib.mjs';

const ANN = { name: 'Ann Lee', color: '#d6336c' };
const BOB = { name: 'Bob Stone', color: '#2b8a3e' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

function viewerState(page) {
  return page.evaluate(() => {
    const t = window.__tandem;
    return t ? { ops: t.contents(), data: t.data(), v: t.version(), editors: t.editors() } : null;
  });
}

async function viewerNames(page) {
  return page.locator('[data-testid="presence-list"] [data-name]').evaluateAll((els) => els.map((e) => e.dataset.name).sort());
}

test('the viewer shows the text and both editors, follows edits live, and uses no WebSocket', { timeout: 120000 }, async () => {
  const a = await openPage(browser, { identity: ANN, label: 'ann' });
  const b = await openPage(browser, { identity: BOB, label: 'bob' });
  const v = await openPage(browser, { label: 'viewer' }); // no identity: a viewer needs none
  try {
    const id = await createViaList(a.page, 'Release notes');
    await a.page.locator('.ql-editor').click();
    await a.page.keyboard.type('Release notes for version 2 ', { delay: 5 });
    await a.page.keyboard.press('Control+B');
    await a.page.keyboard.type('(draft)', { delay: 5 });
    await a.page.keyboard.press('Control+B');
    await a.page.keyboard.press('Enter');
    await a.page.keyboard.type('Highlights: faster sync 🚀', { delay: 5 });
    await b.page.goto(`/d/${id}`);
    await waitReady(b.page);
    await b.page.locator('.ql-editor').click();
    await b.page.keyboard.press('Control+End');
    await b.page.keyboard.press('Enter');
    await b.page.keyboard.type('Reviewed by Bob.', { delay: 5 });
    await b.page.keyboard.press('Shift+Home'); // Bob's selection: the whole line
    let states = await waitConverged([a, b]);

    // The share dialog hands out the viewer link.
    await a.page.getByRole('button', { name: 'Share' }).click();
    const link = await a.page.getByTestId('viewer-link').inputValue();
    assert.equal(link, `${new URL(a.page.url()).origin}/v/${id}`);
    await a.page.keyboard.press('Escape');
    await waitFor(async () => !(await a.page.locator('dialog[open]').count()), { message: 'share dialog closed' });

    await v.page.goto(link);
    await waitReady(v.page);
    await waitFor(async () => JSON.stringify((await viewerState(v.page)).ops) === JSON.stringify(states[0].ops),
      { message: 'the viewer shows the same document as the editors' });
    assert.equal(await v.page.locator('.viewer-title').innerText(), 'Release notes');
    assert.equal(await v.page.locator('.ql-editor').getAttribute('contenteditable'), 'false', 'the viewer is read-only');

    // Both editors are listed, and their cursors drawn with their names.
    await waitFor(async () => JSON.stringify(await viewerNames(v.page)) === JSON.stringify([ANN.name, BOB.name]),
      { message: `viewer presence list has Ann and Bob (has ${JSON.stringify(await viewerNames(v.page))})` });
    for (const who of [ANN, BOB]) {
      await waitFor(() => v.page.locator('.ql-cursor .ql-cursor-name', { hasText: who.name }).isVisible(),
        { message: `the viewer draws ${who.name}'s cursor` });
    }
    const ed = (await viewerState(v.page)).editors;
    const bobCursor = ed.find((e) => e.name === BOB.name)?.cursor;
    assert.ok(bobCursor && bobCursor.length === 'Reviewed by Bob.'.length, `Bob's selection reaches the viewer: ${JSON.stringify(bobCursor)}`);

    // New edits appear live.
    await a.page.locator('.ql-editor').click();
    await a.page.keyboard.press('Control+End');
    await a.page.keyboard.press('Enter');
    await a.page.keyboard.type('Added while the viewer watches ✨', { delay: 20 });
    states = await waitConverged([a, b]);
    await waitFor(async () => JSON.stringify((await viewerState(v.page)).ops) === JSON.stringify(states[0].ops),
      { message: 'the viewer follows the new edits' });
    assert.ok(textOf((await viewerState(v.page)).ops).includes('Added while the viewer watches ✨'));
    const snaps = await serverSnapshots('docs', id);
    assert.deepEqual((await viewerState(v.page)).data.ops, snaps.api.data.ops, 'the viewer\'s delta equals the server snapshot');
    assert.equal((await viewerState(v.page)).v, snaps.api.v, 'the viewer is at the server\'s version');

    await sleep(500); // let the coalesced cursor update arrive
    console.log('screenshot:', await screenshot(v.page, 'viewer'));

    // Bob leaves: the viewer's presence list follows.
    await b.context.close();
    await waitFor(async () => JSON.stringify(await viewerNames(v.page)) === JSON.stringify([ANN.name]),
      { message: 'Bob left the viewer\'s presence list' });
    assert.equal(await v.page.locator('.ql-cursor .ql-cursor-name', { hasText: BOB.name }).count(), 0, 'Bob\'s cursor is gone');

    assert.deepEqual(v.sockets, [], 'the viewer opened no WebSocket');
    assertNoErrors(a, b, v);
  } finally {
    await a.context.close();
    await b.context.close().catch(() => {});
    await v.context.close();
  }
});

test('the viewer catches up after its stream drops, and at phone width', { timeout: 90000 }, async () => {
  const a = await openPage(browser, { identity: ANN, label: 'ann' });
  const v = await openPage(browser, { label: 'viewer', viewport: { width: 390, height: 844 } });
  try {
    const id = await createViaList(a.page, 'Phone view');
    await a.page.locator('.ql-editor').click();
    await a.page.keyboard.type('Line one for the phone.', { delay: 5 });
    await v.page.goto(`/v/${id}`);
    await waitReady(v.page);
    await waitFor(async () => textOf((await viewerState(v.page)).ops).includes('Line one for the phone.'), { message: 'viewer has line one' });

    // The viewer loses its network; edits keep happening; it comes back.
    await v.context.setOffline(true);
    await waitFor(() => v.page.locator('[data-testid="status"][data-link="offline"]').count(), { message: 'viewer shows offline' });
    await a.page.keyboard.press('Enter');
    await a.page.keyboard.type('Line two, while the viewer was away.', { delay: 5 });
    await waitConverged([a]);
    await v.context.setOffline(false);
    const [state] = await waitConverged([a]);
    await waitFor(async () => JSON.stringify((await viewerState(v.page)).ops) === JSON.stringify(state.ops),
      { timeout: 20000, message: 'viewer caught up after reconnecting' });
    await waitFor(() => v.page.locator('[data-testid="status"][data-link="connected"]').count(), { message: 'viewer live again' });
    await sleep(300);
    console.log('screenshot:', await screenshot(v.page, 'viewer-phone'));
    assertNoErrors(a, v);
  } finally {
    await a.context.close();
    await v.context.close();
  }
});
