// `/v/<id>`: the document read-only, live from the SSE stream alone (no
// WebSocket): `snapshot` and `op` events keep a local rich-text Delta that a
// read-only Quill renders; `presence` events give the editors and their cursors.
import richText, { type DeltaLike, type DeltaOp } from 'rich-text';
import { APIError, DOCS, eventsURL, META, snapshot, type Meta } from './api';
import { h } from './dom';
import * as identity from './identity';
import { asOps, drawCursor, Quill, type QuillCursors, type Range } from './quill';
import { brand, peopleList, type Person } from './ui';

interface Editor {
  id: string;
  name: string;
  color: string;
  cursor: Range | null;
}

type PresenceEvent =
  | { type: 'set'; editors: Editor[] }
  | { type: 'join' | 'update'; editor: Editor }
  | { type: 'leave'; editor: { id: string } };

interface OpEvent {
  v: number;
  src?: string;
  seq?: number;
  op?: DeltaOp[] | DeltaLike;
  create?: { type: string; data?: unknown };
  del?: boolean;
}

export function viewerPage(root: HTMLElement, id: string): void {
  document.title = 'Viewer · Tandem';
  const title = h('h1.viewer-title', 'Loading…');
  const people = peopleList('Editing now');
  const live = h('div.status', { role: 'status', 'aria-live': 'polite', 'data-testid': 'status' },
    h('span.status-dot', { 'aria-hidden': 'true' }), h('span.status-text', 'Connecting…'));
  const banner = h('div.viewer-banner', { hidden: true, role: 'alert' });
  const host = h('div.editor-host', { 'data-testid': 'viewer' });
  const sheet = h('div.editor-shell.viewer-shell', host);
  let isMissing = false;
  root.append(
    h('header.topbar.topbar-doc', h('div.topbar-inner', brand(),
      h('div.title-wrap', title, h('span.badge', { title: 'You are viewing; you cannot edit here' }, 'Read-only')),
      h('div.topbar-tools', people.el, live,
        h('a.btn.btn-primary', { href: `/d/${encodeURIComponent(id)}`, 'data-testid': 'open-editor' }, 'Open editor')))),
    h('main#main.editor-main.viewer-main', { tabIndex: -1 }, banner, sheet),
  );

  const quill = new Quill(host, {
    theme: 'snow',
    readOnly: true,
    modules: { toolbar: false, cursors: { transformOnTextChange: false, selectionChangeSource: null, hideDelayMs: 0 } },
  });
  quill.root.setAttribute('aria-label', 'Document text (read-only)');
  quill.root.setAttribute('aria-readonly', 'true');
  quill.root.setAttribute('role', 'textbox');
  quill.root.setAttribute('tabindex', '0'); // keyboard users can still scroll and read
  const cursors = quill.getModule('cursors') as QuillCursors;

  let content: DeltaLike = { ops: [] };
  let version = -1;
  const editors = new Map<string, Editor>();

  const setLive = (state: 'live' | 'reconnecting' | 'offline' | 'connecting', text: string) => {
    live.dataset.link = state === 'live' ? 'connected' : state;
    const t = live.querySelector('.status-text');
    if (t) t.textContent = text;
  };
  const showBanner = (text: string | null) => {
    banner.hidden = text === null;
    banner.textContent = text ?? '';
  };

  const render = () => {
    quill.setContents(asOps(content) as never, 'api');
    cursors.update();
  };
  const renderPeople = () => {
    const list: Person[] = [...editors.values()].map((e) => ({ key: e.id, name: e.name, color: e.color }));
    list.sort((a, b) => a.name.localeCompare(b.name));
    people.set(list);
  };
  const drawEditor = (e: Editor) => drawCursor(cursors, e.id, e.name, e.color, e.cursor);
  const normEditor = (e: Editor): Editor => ({
    id: String(e.id),
    name: typeof e.name === 'string' && e.name ? e.name : 'Anonymous',
    color: identity.isColor(e.color) ? e.color : identity.colorFor(String(e.id)),
    cursor: e.cursor && typeof e.cursor.index === 'number' ? { index: e.cursor.index, length: e.cursor.length ?? 0 } : null,
  });

  const missing = () => {
    if (!isMissing) {
      // Check back less often: each look is a 404 in the browser's console.
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(open, 10000);
    }
    isMissing = true;
    sheet.hidden = true;
    document.title = 'No document here · Tandem';
    title.textContent = 'No document here';
    showBanner('There is no document at this address (yet). This page shows it as soon as someone creates it.');
    setLive('connecting', 'Waiting for the document…');
    root.dataset.ready = '1';
  };

  const loadTitle = () => {
    snapshot<Meta>(META, id)
      .then((s) => {
        const t = s.data && typeof s.data.title === 'string' && s.data.title ? s.data.title : 'Untitled document';
        title.textContent = t;
        document.title = `${t} · Viewer · Tandem`;
      })
      .catch(() => {
        title.textContent = 'Untitled document';
      });
  };

  let es: EventSource | null = null;
  let retryTimer: number | undefined;
  let retryDelay = 1000;

  const open = () => {
    window.clearTimeout(retryTimer);
    es?.close();
    setLive(navigator.onLine ? 'connecting' : 'offline', navigator.onLine ? 'Connecting…' : 'Offline');
    const source = new EventSource(eventsURL(DOCS, id));
    es = source;
    source.onopen = () => {
      retryDelay = 1000;
      setLive('live', 'Live');
    };
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // The server answered with an error instead of a stream (the browser
        // does not retry that by itself): find out why, then try again later.
        setLive('reconnecting', 'Reconnecting…');
        if (isMissing) {
          missing(); // known: look again now and then
          retryTimer = window.setTimeout(open, 10000);
          return;
        }
        retryTimer = window.setTimeout(open, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 15000);
        snapshot(DOCS, id).then(
          (s) => {
            if (!s.type) missing();
          },
          (err: unknown) => {
            if (err instanceof APIError && err.status === 404) missing();
            else if (err instanceof APIError && (err.status === 401 || err.status === 403)) {
              showBanner(`You may not view this document (${err.message}).`);
              setLive('offline', 'No access');
            }
          },
        );
      } else {
        setLive(navigator.onLine ? 'reconnecting' : 'offline', navigator.onLine ? 'Reconnecting…' : 'Offline');
      }
    };
    source.addEventListener('snapshot', (ev) => {
      const s = JSON.parse((ev as MessageEvent<string>).data) as { v: number; type: string | null; data?: unknown };
      version = s.v;
      isMissing = false;
      sheet.hidden = false;
      if (!s.type) {
        content = { ops: [] };
        showBanner('This document does not exist (yet). The page will show it as soon as someone creates it.');
      } else {
        content = { ops: asOps(s.data) as DeltaOp[] };
        showBanner(null);
      }
      render();
      root.dataset.ready = '1';
      loadTitle();
    });
    source.addEventListener('op', (ev) => {
      const o = JSON.parse((ev as MessageEvent<string>).data) as OpEvent;
      if (o.v < version) return; // already applied
      if (o.v > version) {
        // A gap should not happen (the stream resumes from Last-Event-ID);
        // if it does, start over from a fresh snapshot.
        source.close();
        open();
        return;
      }
      version = o.v + 1;
      if (o.op) {
        content = richText.type.apply(content, o.op);
        quill.updateContents(asOps(o.op) as never, 'api');
        // Keep cursors on their characters until the server's next update.
        for (const e of editors.values()) {
          if (e.cursor) {
            e.cursor = richText.type.transformPresence(e.cursor, o.op, false);
            drawEditor(e);
          }
        }
      } else if (o.create) {
        content = { ops: asOps(o.create.data) as DeltaOp[] };
        showBanner(null);
        render();
        loadTitle();
      } else if (o.del) {
        content = { ops: [] };
        render();
        showBanner('This document was deleted.');
      }
    });
    source.addEventListener('presence', (ev) => {
      const p = JSON.parse((ev as MessageEvent<string>).data) as PresenceEvent;
      if (p.type === 'set') {
        for (const e of editors.values()) cursors.removeCursor(e.id);
        editors.clear();
        for (const raw of p.editors) {
          const e = normEditor(raw);
          editors.set(e.id, e);
          drawEditor(e);
        }
      } else if (p.type === 'join' || p.type === 'update') {
        const e = normEditor(p.editor);
        editors.set(e.id, e);
        drawEditor(e);
      } else if (p.type === 'leave') {
        editors.delete(String(p.editor.id));
        cursors.removeCursor(String(p.editor.id));
      }
      renderPeople();
    });
  };

  // A read-only window for tests and debugging.
  (window as unknown as { __tandem: unknown }).__tandem = {
    contents: () => quill.getContents().ops,
    text: () => quill.getText(),
    data: () => content,
    version: () => version,
    editors: () => [...editors.values()],
  };

  // Offline, the stream is closed rather than left retrying (each retry
  // would only fail); back online, a new stream starts from a fresh snapshot.
  window.addEventListener('online', () => open());
  window.addEventListener('offline', () => {
    window.clearTimeout(retryTimer);
    es?.close();
    setLive('offline', 'Offline');
  });
  renderPeople();
  open();
}
