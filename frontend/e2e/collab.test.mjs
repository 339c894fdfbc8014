// Two people edit one document in real Chromium: concurrent typing with
// formatting, emoji and a paste of a few kilobytes; then one goes offline,
// keeps typing, and comes back. Every page ends identical to the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  assertMatchesServer,
  assertNoErrors,
  createViaList,
  editorState,
  launch,
  openPage,
  screenshot,
  sleep,
  textOf,
  waitConverged,
  waitFor,
  waitReady,
} from './lib.mjs';

const ANN = { name: 'Ann Lee', color: '#d6336c' };
const BOB = { name: 'Bob Stone', color: '#1c7ed6' };

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** A few kilobytes of formatted HTML, as copied from a web page. */
function pasteHTML() {
  const paras = [];
  for (let i = 1; i <= 24; i++) {
    paras.push(
      `<p>Paragraph ${i}: <b>bold ${i}</b> and <i>italic</i> text pasted from elsewhere, ` +
        `with a <a href="https://example.com/${i}">link</a> and some plain words to make it longer. ✓</p>`,
    );
  }
  return `<h2>Pasted section</h2>${paras.join('')}<ul><li>first item</li><li>second item</li></ul>`;
}

async function paste(page, html, text) {
  // A real Ctrl+V: the clipboard holds HTML and plain text, as a browser copy would.
  await page.evaluate(async ({ html, text }) => {
    await navigator.clipboard.write([
      new ClipboardItem({
        'text/html': new Blob([html], { type: 'text/html' }),
        'text/plain': new Blob([text], { type: 'text/plain' }),
      }),
    ]);
  }, { html, text });
  await page.keyboard.press('Control+V');
}

test('two editors type concurrently (formatting, emoji, a paste) and converge to the server snapshot', { timeout: 120000 }, async () => {
  const a = await openPage(browser, { identity: ANN, label: 'ann' });
  const b = await openPage(browser, { identity: BOB, label: 'bob' });
  await b.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  try {
    const id = await createViaList(a.page, 'Concurrent notes');
    await b.page.goto(`/d/${id}`);
    await waitReady(b.page);

    // Each sees the other in "who is here".
    for (const [p, other] of [[a, BOB], [b, ANN]]) {
      await waitFor(() => p.page.locator(`[data-testid="presence-list"] [data-name="${other.name}"]`).count(),
        { message: `${p.label} sees ${other.name} in the presence list` });
    }

    // One line each, so that what each types stays together (two people
    // typing at the very same spot interleave their letters, as they should).
    await a.page.locator('.ql-editor').click();
    await a.page.keyboard.type('Notes from Ann:\nNotes from Bob:', { delay: 5 });
    await waitConverged([a, b], 'the two lines are shared');

    // Ann writes on her line, Bob on his, at the same time.
    const annText = ' Ann writes here 🎉 with emoji 👩🏽‍💻 and ünïcödé.';
    const bobText = ' Bob adds this 🚀 at the end.';
    await a.page.keyboard.press('Control+Home');
    await a.page.keyboard.press('End');
    await b.page.locator('.ql-editor').click();
    await b.page.keyboard.press('Control+End');
    await Promise.all([
      a.page.keyboard.type(annText, { delay: 15 }),
      b.page.keyboard.type(bobText, { delay: 15 }),
    ]);

    // Formatting, concurrently: Ann bolds her first word with Ctrl+B, Bob types
    // italic text after turning italic on in the toolbar.
    await a.page.keyboard.press('Control+Home');
    await a.page.keyboard.press('Shift+Control+ArrowRight');
    await a.page.keyboard.press('Control+B');
    await b.page.keyboard.press('Control+End');
    await b.page.locator('.ql-toolbar button.ql-italic').click();
    await Promise.all([
      b.page.keyboard.type(' Italic from Bob.', { delay: 10 }),
      (async () => {
        await a.page.keyboard.press('End');
        await a.page.keyboard.press('Enter');
        await a.page.locator('.ql-toolbar .ql-header .ql-picker-label').click();
        await a.page.locator('.ql-toolbar .ql-header .ql-picker-item[data-value="2"]').click();
        await a.page.keyboard.type('A heading by Ann', { delay: 10 });
        await a.page.keyboard.press('Enter');
      })(),
    ]);

    // Bob pastes a few kilobytes while Ann keeps typing.
    const html = pasteHTML();
    const plain = html.replace(/<[^>]+>/g, ' ');
    assert.ok(html.length > 4000, `paste is a few kilobytes (${html.length} bytes)`);
    await b.page.keyboard.press('Control+End');
    await b.page.keyboard.press('Enter');
    await Promise.all([paste(b.page, html, plain), a.page.keyboard.type('Typing during the paste. ', { delay: 10 })]);

    const states = await waitConverged([a, b], 'both editors show the same document');
    const text = textOf(states[0].ops);
    for (const piece of ['Notes from Ann:' + annText, 'Notes from Bob:' + bobText + ' Italic from Bob.', 'A heading by Ann',
      'Typing during the paste. ', 'Paragraph 1: bold 1', 'Paragraph 24: bold 24', 'second item']) {
      assert.ok(text.includes(piece), `the document contains ${JSON.stringify(piece)}`);
    }
    const ops = states[0].ops;
    assert.ok(ops.some((o) => o.attributes?.bold && o.insert === 'Notes'), 'Ann\'s first word is bold');
    assert.ok(ops.some((o) => o.attributes?.italic && String(o.insert).includes('Italic from Bob')), 'Bob\'s italic text');
    assert.ok(ops.some((o) => o.attributes?.header === 2), 'a level-2 heading');
    assert.ok(ops.some((o) => o.attributes?.link === 'https://example.com/7'), 'the pasted links survive');
    assert.ok(ops.some((o) => o.attributes?.list === 'bullet'), 'the pasted list survives');
    await assertMatchesServer(id, states);

    // Remote cursors carry the other editor's name in their colour.
    const flag = a.page.locator('.ql-cursor .ql-cursor-name', { hasText: BOB.name });
    await waitFor(() => flag.isVisible(), { message: 'Ann sees Bob\'s named cursor' });
    const flagColor = await a.page.locator('.ql-cursor .ql-cursor-flag').first().evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(flagColor, 'rgb(28, 126, 214)', 'Bob\'s cursor flag is in Bob\'s colour');
    await waitFor(() => a.page.locator('[data-testid="status"][data-link="connected"][data-unsent="0"]').count(),
      { message: 'Ann\'s indicator says everything is saved' });

    await a.page.keyboard.press('Control+Home');
    await b.page.locator('.ql-editor h2').first().click();
    await sleep(400);
    console.log('screenshot:', await screenshot(a.page, 'editor-ann'));
    console.log('screenshot:', await screenshot(b.page, 'editor-bob'));
    assertNoErrors(a, b);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('an editor goes offline, keeps typing, comes back: nothing is lost', { timeout: 120000 }, async () => {
  const a = await openPage(browser, { identity: ANN, label: 'ann' });
  const b = await openPage(browser, { identity: BOB, label: 'bob' });
  try {
    const id = await createViaList(a.page, 'Offline test');
    await b.page.goto(`/d/${id}`);
    await waitReady(b.page);
    await a.page.locator('.ql-editor').click();
    await a.page.keyboard.type('Shared start.', { delay: 5 });
    await a.page.keyboard.press('Enter');
    await waitConverged([a, b], 'the start is shared');

    // Ann's network goes away.
    await a.context.setOffline(true);
    await waitFor(() => a.page.locator('[data-testid="status"][data-link="offline"]').count(),
      { message: 'Ann\'s indicator shows offline' });
    await a.page.keyboard.press('Control+End');
    const offlineText = 'Written offline: ✈️ nothing here may be lost. ';
    await a.page.keyboard.type(offlineText, { delay: 10 });
    await a.page.keyboard.press('Control+Home');
    await a.page.keyboard.press('Shift+End');
    await a.page.keyboard.press('Control+U'); // underline "Shared start." while offline
    await a.page.keyboard.press('Control+End');
    await a.page.keyboard.type('More offline words.', { delay: 10 });

    // Meanwhile Bob keeps editing online.
    await b.page.locator('.ql-editor').click();
    await b.page.keyboard.press('Control+Home');
    await b.page.keyboard.type('Bob, online: ', { delay: 10 });

    const unsent = Number(await a.page.locator('[data-testid="status"]').getAttribute('data-unsent'));
    assert.ok(unsent > 0, `Ann's indicator counts unsent edits (${unsent})`);
    const statusText = await a.page.locator('[data-testid="status"]').innerText();
    assert.match(statusText, /Offline · \d+ unsent edits?/);
    console.log('screenshot:', await screenshot(a.page, 'editor-offline'));
    await sleep(500);
    const bobMeanwhile = await editorState(b.page);
    assert.ok(!textOf(bobMeanwhile.ops).includes('Written offline'), 'Bob does not have Ann\'s offline edits yet');
    const annMeanwhile = await editorState(a.page);
    assert.ok(!textOf(annMeanwhile.ops).includes('Bob, online'), 'Ann, offline, does not get Bob\'s edits');

    // The network comes back: the app reconnects by itself and sends everything.
    await a.context.setOffline(false);
    const states = await waitConverged([a, b], 'converged after reconnecting');
    const text = textOf(states[0].ops);
    for (const piece of ['Bob, online: Shared start.', offlineText + 'More offline words.']) {
      assert.ok(text.includes(piece), `the document contains ${JSON.stringify(piece)}: ${JSON.stringify(text)}`);
    }
    assert.ok(states[0].ops.some((o) => o.attributes?.underline && o.insert === 'Shared start.'), 'the offline underline arrived');
    await assertMatchesServer(id, states);
    await waitFor(() => a.page.locator('[data-testid="status"][data-link="connected"][data-unsent="0"]').count(),
      { message: 'Ann\'s indicator is back to saved' });
    assertNoErrors(a, b);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});
