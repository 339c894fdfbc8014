// `/`: create a document, open existing ones, see how many are editing each.
import { APIError, DOCS, listAll, META, newId, type ListEntry, type Meta } from './api';
import { clear, h, relativeTime } from './dom';
import { ensureIdentity } from './identity-dialog';
import { getNet } from './net';
import { brand, identityChip, notice } from './ui';

interface Row {
  id: string;
  title: string;
  created: number | null;
  mtime: number | null;
  editors: number;
}

const REFRESH_MS = 5000;

export function listPage(root: HTMLElement): void {
  document.title = 'Documents · Tandem';
  const titleInput = h('input#new-title', {
    type: 'text',
    name: 'title',
    placeholder: 'Untitled document',
    maxLength: 200,
    autocomplete: 'off',
    'aria-label': 'Title of the new document',
  });
  const createBtn = h('button.btn.btn-primary', { type: 'submit' }, h('span.btn-plus', { 'aria-hidden': 'true' }, '+'), 'New document');
  const createError = h('p.form-error', { role: 'alert' });
  const form = h('form.create-form', { 'aria-label': 'Create a document' }, titleInput, createBtn);
  const listEl = h('div.doc-list', { 'aria-live': 'polite', 'aria-busy': 'true' }, h('p.muted.loading', 'Loading documents…'));

  root.append(
    h('header.topbar', h('div.topbar-inner', brand(), h('div.topbar-spacer'), identityChip())),
    h(
      'main#main.page.list-page',
      { tabIndex: -1 },
      h('section.hero', h('h1', 'Documents'), h('p.muted', 'Write together in real time. Everyone with the link can join.')),
      h('section.card.create-card', form, createError),
      h('section.list-section', { 'aria-labelledby': 'list-heading' }, h('h2#list-heading.section-title', 'All documents'), listEl),
    ),
  );

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    createError.textContent = '';
    createBtn.disabled = true;
    try {
      await ensureIdentity();
      const id = await createDocument(titleInput.value.trim() || 'Untitled document');
      window.location.assign(`/d/${encodeURIComponent(id)}`);
    } catch (err) {
      createBtn.disabled = false;
      createError.textContent = `Could not create the document: ${(err as Error).message}`;
    }
  });

  let timer: number | undefined;
  let controller: AbortController | null = null;
  const refresh = async () => {
    window.clearTimeout(timer);
    controller?.abort();
    controller = new AbortController();
    try {
      const rows = await loadRows(controller.signal);
      renderRows(listEl, rows);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      clear(listEl);
      const msg = err instanceof APIError ? `${err.message} (${err.code})` : (err as Error).message;
      listEl.append(notice('Could not load the documents', msg,
        h('button.btn', { type: 'button', onclick: () => void refresh() }, 'Try again')));
    } finally {
      listEl.setAttribute('aria-busy', 'false');
    }
    if (!document.hidden) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  };
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void refresh();
  });
  void refresh();
  // Name yourself before anything else on a first visit.
  void ensureIdentity().then(() => titleInput.focus());
}

async function loadRows(signal: AbortSignal): Promise<Row[]> {
  const [metas, docs] = await Promise.all([
    listAll<Meta>(META, true, signal),
    listAll<unknown>(DOCS, false, signal).catch(() => [] as ListEntry[]),
  ]);
  const byId = new Map<string, Row>();
  for (const m of metas) {
    if (!m.type) continue; // deleted
    const data = m.data ?? {};
    byId.set(m.id, {
      id: m.id,
      title: typeof data.title === 'string' && data.title.trim() ? data.title : 'Untitled document',
      created: typeof data.created === 'number' ? data.created : null,
      mtime: m.mtime ?? null,
      editors: m.editors ?? 0,
    });
  }
  for (const d of docs) {
    if (!d.type) continue;
    const row = byId.get(d.id);
    if (row) {
      row.editors = Math.max(row.editors, d.editors ?? 0);
      row.mtime = Math.max(row.mtime ?? 0, d.mtime ?? 0) || null;
    } else {
      byId.set(d.id, { id: d.id, title: d.id, created: null, mtime: d.mtime ?? null, editors: d.editors ?? 0 });
    }
  }
  return [...byId.values()].sort(
    (a, b) => (b.created ?? b.mtime ?? 0) - (a.created ?? a.mtime ?? 0) || a.title.localeCompare(b.title),
  );
}

function renderRows(listEl: HTMLElement, rows: Row[]): void {
  // Keep focus on the same link across refreshes (keyboard users).
  const focusedHref = (document.activeElement as HTMLElement | null)?.closest?.('.doc-list')
    ? (document.activeElement as HTMLAnchorElement).getAttribute('href')
    : null;
  clear(listEl);
  if (rows.length === 0) {
    listEl.append(
      h('div.empty', h('p.empty-title', 'No documents yet'), h('p.muted', 'Give your first document a title above and press Enter.')),
    );
    return;
  }
  const ul = h('ul.docs', { 'data-testid': 'doc-list' });
  for (const r of rows) {
    const when = r.created ?? r.mtime;
    ul.append(
      h(
        'li.doc-row',
        { dataset: { id: r.id } },
        h(
          'a.doc-open',
          { href: `/d/${encodeURIComponent(r.id)}` },
          h('span.doc-icon', { 'aria-hidden': 'true' }),
          h('span.doc-text', h('span.doc-title', r.title), when ? h('span.doc-when.muted', `Created ${relativeTime(when)}`) : null),
        ),
        h(
          'span.doc-editors',
          { class: r.editors > 0 ? 'live' : '', 'data-testid': 'editors', title: `${r.editors} editing now` },
          h('span.live-dot', { 'aria-hidden': 'true' }),
          r.editors === 0 ? 'Nobody editing' : `${r.editors} editing`,
        ),
        h('a.btn.btn-ghost.doc-view', { href: `/v/${encodeURIComponent(r.id)}`, 'aria-label': `View “${r.title}” read-only` }, 'View'),
      ),
    );
  }
  listEl.append(ul);
  if (focusedHref) listEl.querySelector<HTMLElement>(`a[href="${CSS.escape(focusedHref)}"]`)?.focus();
}

/** Creates the metadata doc and the rich-text doc over the ShareDB connection. */
function createDocument(title: string): Promise<string> {
  const { connection } = getNet();
  const id = newId();
  const meta = connection.get<Meta>(META, id);
  const doc = connection.get(DOCS, id);
  const create = (d: typeof doc, data: unknown, type: string) =>
    new Promise<void>((resolve, reject) => d.create(data, type, (err) => (err ? reject(err) : resolve())));
  return Promise.all([
    create(meta as typeof doc, { title, created: Date.now() }, 'json0'),
    create(doc, [{ insert: '\n' }], 'rich-text'),
  ]).then(() => id);
}
