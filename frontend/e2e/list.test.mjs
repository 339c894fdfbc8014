// The document list, the first-visit identity dialog, keyboard use and
// phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoErrors, launch, openPage, screenshot, sleep, waitFor, waitReady } from './lib.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('first visit: choose a name and colour with the keyboard, create a document, see who edits it', { timeout: 90000 }, async () => {
  const c = await openPage(browser, { label: 'cleo' }); // no identity yet
  const d = await openPage(browser, { identity: { name: 'Dev Patel', color: '#0c8599' }, label: 'dev' });
  const l = await openPage(browser, { identity: { name: 'Lurker', color: '#495057' }, label: 'list' });
  try {
    await c.page.goto('/');
    const dialog = c.page.getByRole('dialog', { name: 'Welcome to Tandem' });
    await dialog.waitFor();
    await sleep(200);
    console.log('screenshot:', await screenshot(c.page, 'identity-dialog'));
    // The name field has focus; Escape does not dismiss the first-visit dialog.
    await c.page.keyboard.press('Escape');
    assert.ok(await dialog.isVisible(), 'the first-visit dialog stays until a name is chosen');
    await c.page.keyboard.type('Cleo Park');
    await c.page.keyboard.press('Tab'); // to the colour swatches
    await c.page.keyboard.press('ArrowRight');
    const color = await c.page.locator('input[name="color"]:checked').inputValue();
    await c.page.keyboard.press('Enter'); // submits the form
    await waitFor(async () => !(await dialog.isVisible()), { message: 'dialog closed' });
    assert.equal(await c.page.locator('.identity-chip .chip-name').innerText(), 'Cleo Park');
    const stored = JSON.parse(await c.page.evaluate(() => localStorage.getItem('tandem.identity')));
    assert.deepEqual(stored, { name: 'Cleo Park', color });

    // Remembered: no dialog on the next visit. The title field has focus.
    await c.page.reload();
    await c.page.waitForSelector('.doc-list[aria-busy="false"]');
    assert.equal(await c.page.locator('dialog[open]').count(), 0, 'no dialog once a name is remembered');
    await waitFor(() => c.page.evaluate(() => document.activeElement?.id === 'new-title'), { message: 'title field focused' });

    // Create a document with the keyboard alone.
    const title = `Team agenda ${Date.now()}`;
    await c.page.keyboard.type(title);
    await c.page.keyboard.press('Enter');
    await c.page.waitForURL(/\/d\/[^/]+$/);
    await waitReady(c.page);
    const id = new URL(c.page.url()).pathname.split('/').pop();
    assert.match(id, /^[A-Za-z0-9_-]{8,}$/, 'a short url-safe id');
    assert.equal(await c.page.locator('.title-input').inputValue(), title);
    assert.equal(await c.page.title(), `${title} · Tandem`);
    // Escape leaves the text for the toolbar; Tab walks it.
    await c.page.keyboard.type('Agenda item one');
    await c.page.keyboard.press('Escape');
    assert.ok(await c.page.evaluate(() => !!document.activeElement?.closest('.ql-toolbar')), 'Escape moves focus to the toolbar');

    await d.page.goto(`/d/${id}`);
    await waitReady(d.page);

    // The list shows the title and that two are editing.
    await l.page.goto('/');
    const row = l.page.locator(`.doc-row[data-id="${id}"]`);
    await waitFor(async () => {
      await l.page.reload();
      await l.page.waitForSelector('.doc-list[aria-busy="false"]');
      return (await row.count()) && (await row.locator('[data-testid="editors"]').innerText()) === '2 editing';
    }, { timeout: 20000, interval: 500, message: 'the list shows 2 editing' });
    assert.equal(await row.locator('.doc-title').innerText(), title);
    console.log('screenshot:', await screenshot(l.page, 'list'));

    // Changing your name later: the others see the new one.
    await waitFor(() => d.page.locator('[data-testid="presence-list"] [data-name="Cleo Park"]').count(), { message: 'Dev sees Cleo' });
    await c.page.getByRole('button', { name: /You are Cleo Park/ }).click();
    const again = c.page.getByRole('dialog', { name: 'Your name and colour' });
    await again.waitFor();
    await c.page.locator('#identity-name').fill('Cleo P.');
    await c.page.getByRole('button', { name: 'Save' }).click();
    await waitFor(() => d.page.locator('[data-testid="presence-list"] [data-name="Cleo P."]').count(),
      { message: 'Dev sees Cleo\'s new name' });
    await waitFor(async () => (await d.page.locator('[data-testid="presence-list"] [data-name]').count()) === 2,
      { message: 'and Cleo only once' });

    // Renaming in the editor reaches the other editor live.
    await c.page.locator('.title-input').fill(`${title} (renamed)`);
    await c.page.keyboard.press('Enter');
    await waitFor(async () => (await d.page.locator('.title-input').inputValue()) === `${title} (renamed)`,
      { message: 'the new title reaches the other editor' });

    // Leaving the editor: the count drops.
    await d.page.goto('about:blank');
    await waitFor(async () => {
      await l.page.reload();
      await l.page.waitForSelector('.doc-list[aria-busy="false"]');
      return (await row.locator('[data-testid="editors"]').innerText()) === '1 editing';
    }, { timeout: 20000, interval: 500, message: 'the list shows 1 editing' });

    // The row's links work from the keyboard.
    await row.locator('a.doc-open').focus();
    await l.page.keyboard.press('Enter');
    await l.page.waitForURL(`**/d/${id}`);
    await waitReady(l.page);
    assertNoErrors(c, d, l);
  } finally {
    await c.context.close();
    await d.context.close();
    await l.context.close();
  }
});

test('phone width: the list and the editor fit, nothing scrolls sideways', { timeout: 60000 }, async () => {
  const phone = { width: 390, height: 844 };
  const p = await openPage(browser, { identity: { name: 'Mia Wong', color: '#7048e8' }, viewport: phone, label: 'phone' });
  const q = await openPage(browser, { identity: { name: 'Sam Ito', color: '#e8590c' }, label: 'desk' });
  try {
    await p.page.goto('/');
    await p.page.waitForSelector('.doc-list[aria-busy="false"]');
    await p.page.getByLabel('Title of the new document').fill('Shopping list for the weekend trip');
    console.log('screenshot:', await screenshot(p.page, 'list-phone'));
    await p.page.getByRole('button', { name: 'New document' }).click();
    await p.page.waitForURL(/\/d\//);
    await waitReady(p.page);
    await p.page.keyboard.type('Things to bring', { delay: 5 });
    await p.page.keyboard.press('Enter');
    await p.page.locator('.ql-toolbar button.ql-list[value="check"]').click();
    await p.page.keyboard.type('Tent\nSleeping bags\nSnacks 🍫', { delay: 5 });
    await q.page.goto(p.page.url());
    await waitReady(q.page);
    await q.page.locator('.ql-editor').click();
    await q.page.keyboard.press('Control+End');
    await q.page.keyboard.type(' and water', { delay: 5 });
    await waitFor(() => p.page.locator('.ql-cursor .ql-cursor-name', { hasText: 'Sam Ito' }).isVisible(), { message: 'Mia sees Sam\'s cursor' });
    await sleep(300);
    for (const page of [p.page]) {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no horizontal scrolling at phone width (${overflow}px too wide)`);
    }
    console.log('screenshot:', await screenshot(p.page, 'editor-phone'));
    await p.page.getByRole('button', { name: 'Share' }).click();
    await sleep(200);
    console.log('screenshot:', await screenshot(p.page, 'share-phone'));
    assertNoErrors(p, q);
  } finally {
    await p.context.close();
    await q.context.close();
  }
});
