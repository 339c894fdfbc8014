// `/d/<id>`: co-edit a rich-text document. Quill is bound to the sharedb doc
// (`docs/<id>`); remote cursors come from sharedb doc presence and are drawn
// by quill-cursors; the title lives in the json0 doc `docs_meta/<id>`.
import type { Doc, LocalPresence, ShareDBError } from 'sharedb/lib/client';
import { DOCS, META, type Meta } from './api';
import { clear, h, toast } from './dom';
import * as identity from './identity';
import { ensureIdentity } from './identity-dialog';
import { getNet } from './net';
import { asOps, drawCursor, Quill, type QuillCursors, type Range } from './quill';
import { shareDialog } from './share';
import { brand, identityChip, notice, peopleList, statusIndicator, type Person } from './ui';

interface CursorValue extends Range {
  name: string;
  color: string;
}

/** The `source` of ops this page submits, to tell them from remote ones. */
const LOCAL = { local: true };

const TOOLBAR = [
  [{ header: [1, 2, 3, false] }],
  ['bold', 'italic', 'underline', 'strike'],
  [{ color: [] }, { background: [] }],
  [{ list: 'ordered' }, { list: 'bullet' }, { list: 'check' }],
  ['blockquote', 'code-block', 'link'],
  ['clean'],
];

const TOOL_TITLES: Record<string, string> = {
  bold: 'Bold (Ctrl+B)',
  italic: 'Italic (Ctrl+I)',
  underline: 'Underline (Ctrl+U)',
  strike: 'Strikethrough',
  'list:ordered': 'Numbered list',
  'list:bullet': 'Bulleted list',
  'list:check': 'Checklist',
  blockquote: 'Quote',
  'code-block': 'Code block',
  link: 'Link (Ctrl+K)',
  clean: 'Clear formatting',
  header: 'Text style',
  color: 'Text colour',
  background: 'Highlight colour',
};

export async function editorPage(root: HTMLElement, id: string): Promise<void> {
  document.title = 'Tandem';
  const net = getNet();
  const { connection } = net;
  const doc = connection.get(DOCS, id);
  const meta = connection.get<Meta>(META, id);

  // --- layout ---------------------------------------------------------------
  const titleInput = h('input.title-input', {
    type: 'text',
    value: '',
    placeholder: 'Untitled document',
    maxLength: 200,
    'aria-label': 'Document title',
    disabled: true,
  });
  const people = peopleList('Who is here');
  const status = statusIndicator();
  const shareBtn = h('button.btn.btn-primary.share-btn', { type: 'button', 'aria-haspopup': 'dialog', 'aria-label': 'Share', title: 'Share: viewer and editor links' },
    h('span.share-icon', { 'aria-hidden': 'true' }), h('span.share-label', 'Share'));
  const editorHost = h('div.editor-host', { 'data-testid': 'editor' });
  const shell = h('div.editor-shell', editorHost);
  const main = h('main#main.editor-main', { tabIndex: -1 }, shell);
  root.append(
    h(
      'header.topbar.topbar-doc',
      h(
        'div.topbar-inner',
        brand(),
        h('div.title-wrap', titleInput),
        h('div.topbar-tools', people.el, status.el, shareBtn, identityChip(() => onIdentityChanged())),
      ),
    ),
    main,
  );

  // The toolbar sticks below the top bar, whose height depends on the width.
  const header = root.querySelector<HTMLElement>('header.topbar');
  if (header) {
    new ResizeObserver(() => document.documentElement.style.setProperty('--topbar-h', `${header.offsetHeight}px`)).observe(header);
  }

  shareBtn.addEventListener('click', () => shareDialog(id, titleInput.value || 'Untitled document'));

  const quill = new Quill(editorHost, {
    theme: 'snow',
    placeholder: 'Start writing…',
    modules: {
      toolbar: TOOLBAR,
      cursors: { transformOnTextChange: false, selectionChangeSource: null, hideDelayMs: 0 },
      history: { userOnly: true, delay: 600 },
      keyboard: {
        bindings: {
          // Tab stays in the text (indent); Escape leaves the editor for the toolbar.
          escape: {
            key: 'Escape',
            handler: () => {
              shell.querySelector<HTMLElement>('.ql-toolbar button, .ql-toolbar .ql-picker-label')?.focus();
              return false;
            },
          },
        },
      },
    },
  });
  quill.disable();
  labelToolbar(shell);
  const cursors = quill.getModule('cursors') as QuillCursors;
  quill.root.setAttribute('aria-label', 'Document text');
  quill.root.setAttribute('aria-multiline', 'true');
  quill.root.setAttribute('role', 'textbox');

  // --- unsent edits and the connection indicator ------------------------------
  let unsent = 0;
  const showStatus = () => status.set(net.link(), unsent, net.transport());
  net.onLink(showStatus);
  doc.on('nothing pending', showStatus);
  showStatus();
  window.addEventListener('beforeunload', (e) => {
    if (unsent > 0) {
      e.preventDefault(); // "Leave site? Changes you made may not be saved."
    }
  });

  const submit = (d: Doc, op: unknown) => {
    unsent++;
    showStatus();
    d.submitOp(op, { source: LOCAL }, (err) => {
      unsent = Math.max(0, unsent - 1);
      showStatus();
      if (err) reportError(err);
    });
  };

  const reportError = (err: ShareDBError) => {
    toast(`The server refused an edit (${err.code || err.message}); the document was reloaded.`);
  };

  // --- document ↔ Quill -------------------------------------------------------
  const loadIntoQuill = () => {
    const range = quill.getSelection();
    const ops = asOps(doc.data);
    quill.setContents(ops as never, 'api');
    if (range) quill.setSelection(Math.min(range.index, quill.getLength() - 1), range.length, 'silent');
    // Quill always ends with a newline; a document made elsewhere may not.
    // Add it to the document too, so that both stay the same length.
    const last = ops[ops.length - 1];
    if (!last || typeof last.insert !== 'string' || !last.insert.endsWith('\n')) {
      const length = ops.reduce((n, o) => n + (typeof o.insert === 'string' ? o.insert.length : 1), 0);
      submit(doc, length ? [{ retain: length }, { insert: '\n' }] : [{ insert: '\n' }]);
    }
  };

  quill.on('text-change', (delta, _old, source) => {
    if (source !== 'user') return;
    submit(doc, delta.ops);
    queuePresence();
  });
  doc.on('op', (op, source) => {
    if (source === LOCAL) return;
    quill.updateContents(op as never, 'api');
  });
  doc.on('load', () => {
    // A hard rollback (rejected op) or a re-fetch: start again from the server's state.
    if (doc.type) loadIntoQuill();
  });
  doc.on('del', () => {
    quill.disable();
    gone('This document was deleted', 'Someone deleted it while you had it open.', h('a.btn.btn-primary', { href: '/' }, 'All documents'));
  });
  doc.on('error', (err) => reportError(err));

  // --- title (docs_meta) ------------------------------------------------------
  const showTitle = () => {
    const t = typeof meta.data?.title === 'string' ? meta.data.title : '';
    if (document.activeElement !== titleInput) titleInput.value = t;
    document.title = `${t || 'Untitled document'} · Tandem`;
  };
  let titleTimer: number | undefined;
  const saveTitle = () => {
    window.clearTimeout(titleTimer);
    const next = titleInput.value.trim() || 'Untitled document';
    if (!meta.type) {
      meta.create({ title: next, created: Date.now() }, 'json0', (err) => err && reportError(err));
      return;
    }
    const prev = meta.data?.title;
    if (prev === next) return;
    submit(meta as Doc, [prev === undefined ? { p: ['title'], oi: next } : { p: ['title'], od: prev, oi: next }]);
  };
  titleInput.addEventListener('input', () => {
    window.clearTimeout(titleTimer);
    titleTimer = window.setTimeout(saveTitle, 700);
  });
  titleInput.addEventListener('change', saveTitle);
  titleInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      saveTitle();
      quill.focus();
    }
  });
  titleInput.addEventListener('blur', showTitle);
  meta.on('op', showTitle);
  meta.on('load', showTitle);
  meta.on('create', showTitle);
  meta.on('nothing pending', showStatus);
  meta.on('error', (err) => reportError(err));

  // --- presence ----------------------------------------------------------------
  const me = () => identity.current() ?? { name: 'Anonymous', color: '#495057' };
  const presence = connection.getDocPresence<CursorValue>(DOCS, id);
  let local: LocalPresence<CursorValue> | null = null;
  let lastRange: Range = { index: 0, length: 0 };
  let presenceInFlight = false;
  let presenceWanted = false;

  const renderPeople = () => {
    const self = me();
    const list: Person[] = [{ key: 'self', name: self.name, color: self.color, self: true }];
    // While disconnected nobody else is known to be here.
    if (connection.state === 'connected') {
      for (const [pid, v] of Object.entries(presence.remotePresences)) {
        if (v && typeof v.name === 'string') list.push({ key: pid, name: v.name, color: v.color });
      }
    }
    list.sort((a, b) => Number(!!b.self) - Number(!!a.self) || a.name.localeCompare(b.name));
    people.set(list);
  };

  // At most one presence message in flight: typing fast (or offline) must not
  // queue one message per keystroke; the latest position wins.
  const sendPresence = () => {
    if (!local || presenceInFlight || !presenceWanted || !doc.type) return;
    presenceWanted = false;
    presenceInFlight = true;
    const self = me();
    const r = quill.getSelection() ?? lastRange;
    lastRange = { index: r.index, length: r.length };
    local.submit({ index: r.index, length: r.length, name: self.name, color: self.color }, () => {
      presenceInFlight = false;
      sendPresence();
    });
  };
  function queuePresence() {
    presenceWanted = true;
    sendPresence();
  }
  quill.on('selection-change', (range, _old, source) => {
    if (source !== 'user' || !range) return;
    lastRange = range;
    queuePresence();
  });
  const drawRemote = (pid: string, v: CursorValue | null) => {
    if (v && typeof v.index === 'number' && connection.state === 'connected') {
      const name = typeof v.name === 'string' && v.name ? v.name : 'Anonymous';
      const color = identity.isColor(v.color) ? v.color : identity.colorFor(pid);
      drawCursor(cursors, pid, name, color, { index: v.index, length: v.length ?? 0 });
    } else {
      cursors.removeCursor(pid);
    }
  };
  presence.on('receive', (pid, value) => {
    drawRemote(pid, value);
    renderPeople();
  });
  presence.on('error', () => {
    /* a presence the type cannot transform is dropped; the next one repairs it */
  });
  connection.on('state', (s) => {
    if (s === 'connected') {
      // The message in flight may have died with the old socket; say where we are again.
      presenceInFlight = false;
      queuePresence();
      for (const [pid, v] of Object.entries(presence.remotePresences)) drawRemote(pid, v);
    } else {
      // Others' cursors are unknown until we are back.
      for (const pid of Object.keys(presence.remotePresences)) cursors.removeCursor(pid);
    }
    renderPeople();
  });

  function onIdentityChanged() {
    net.reconnect(); // the server learns the new name from the WebSocket URL
    queuePresence();
    renderPeople();
  }

  // --- start -------------------------------------------------------------------
  await ensureIdentity();
  renderPeople();
  let metaReady = false;
  let docReady = false;
  const enableTitle = () => {
    titleInput.disabled = !(metaReady && docReady);
    if (metaReady) showTitle();
  };
  const gone = (heading: string, body: string, action: Node) => {
    clear(main);
    main.append(notice(heading, body, action));
    document.title = `${heading} · Tandem`;
    titleInput.value = '';
    titleInput.placeholder = '';
    for (const el of [shareBtn, people.el, status.el]) el.hidden = true;
  };
  meta.subscribe((err) => {
    metaReady = !err;
    enableTitle();
  });
  doc.subscribe((err) => {
    if (err) {
      gone('Could not open the document', `${err.message} (${err.code})`, h('a.btn.btn-primary', { href: '/' }, 'All documents'));
      return;
    }
    if (!doc.type) {
      gone('No document here', 'There is no document with this address. It may have been deleted, or the link is incomplete.',
        h('a.btn.btn-primary', { href: '/' }, 'See all documents'));
      return;
    }
    if (doc.type.name !== 'rich-text') {
      gone('Not a rich-text document', `This document is of type ${doc.type.name}.`, h('a.btn.btn-primary', { href: '/' }, 'All documents'));
      return;
    }
    docReady = true;
    enableTitle();
    loadIntoQuill();
    quill.history.clear();
    quill.enable();
    presence.subscribe();
    local = presence.create();
    quill.focus();
    quill.setSelection(0, 0, 'user');
    queuePresence();
    // A read-only window for tests and debugging: what this page shows and holds.
    (window as unknown as { __tandem: unknown }).__tandem = {
      contents: () => quill.getContents().ops,
      text: () => quill.getText(),
      data: () => doc.data,
      version: () => doc.version,
      pending: () => doc.hasWritePending() || meta.hasWritePending() || unsent > 0,
      link: () => net.link(),
      transport: () => net.transport(),
      tryWebSocket: () => net.tryWebSocket(),
    };
    root.dataset.ready = '1';
  });
}

function labelToolbar(shell: HTMLElement): void {
  const toolbar = shell.querySelector('.ql-toolbar');
  if (!toolbar) return;
  toolbar.setAttribute('role', 'toolbar');
  toolbar.setAttribute('aria-label', 'Formatting');
  toolbar.querySelectorAll<HTMLButtonElement>('button').forEach((b) => {
    const fmt = [...b.classList].find((c) => c.startsWith('ql-'))?.slice(3) ?? '';
    const key = b.value ? `${fmt}:${b.value}` : fmt;
    const title = TOOL_TITLES[key] ?? TOOL_TITLES[fmt];
    if (title) {
      b.title = title;
      b.setAttribute('aria-label', title);
    }
  });
  toolbar.querySelectorAll<HTMLElement>('.ql-picker').forEach((p) => {
    const fmt = [...p.classList].find((c) => c.startsWith('ql-') && c !== 'ql-picker' && !c.startsWith('ql-color-') && !c.startsWith('ql-icon-'))?.slice(3) ?? '';
    const title = TOOL_TITLES[fmt];
    const label = p.querySelector<HTMLElement>('.ql-picker-label');
    if (title && label) {
      label.title = title;
      label.setAttribute('aria-label', title);
    }
  });
}
