// Pieces shared by the pages: the top bar, the identity chip, the list of
// who is here and the connection indicator.
import { clear, h, initials, textOn } from './dom';
import * as identity from './identity';
import { chooseIdentity } from './identity-dialog';
import type { Link } from './net';
import { TRANSPORT_NAMES, type Transport } from './transports';

export function brand(): HTMLElement {
  return h(
    'a.brand',
    { href: '/', 'aria-label': 'Tandem: all documents' },
    h('img.brand-logo', { src: '/favicon.svg', alt: '', width: 28, height: 28 }),
    h('span.brand-name', 'Tandem'),
  );
}

export function avatar(name: string, color: string, extra = ''): HTMLElement {
  return h(`span.avatar${extra}`, {
    style: { background: color, color: textOn(color) },
    'aria-hidden': 'true',
  }, initials(name));
}

/** Your avatar and name; a button to change them unless they come from a token. */
export function identityChip(onChange?: (id: identity.Identity) => void): HTMLElement {
  const wrap = h('div.identity-chip');
  const render = () => {
    clear(wrap);
    const id = identity.current();
    if (!id) return;
    if (id.token) {
      wrap.append(
        h('span.chip', { title: `Signed in as ${id.name}` }, avatar(id.name, id.color), h('span.chip-name', id.name)),
      );
      return;
    }
    wrap.append(
      h(
        'button.chip.chip-button',
        {
          type: 'button',
          title: 'Change your name or colour',
          'aria-label': `You are ${id.name}. Change your name or colour`,
          onclick: async () => {
            const next = await chooseIdentity(false);
            render();
            onChange?.(next);
          },
        },
        avatar(id.name, id.color),
        h('span.chip-name', id.name),
      ),
    );
  };
  render();
  window.addEventListener('tandem:identity', render);
  return wrap;
}

export interface Person {
  key: string;
  name: string;
  color: string;
  self?: boolean;
}

/** "Who is here": overlapping avatars plus a readable list for screen readers. */
export function peopleList(label: string): { el: HTMLElement; set(people: Person[]): void } {
  const el = h('div.people', { role: 'group', 'aria-label': label });
  const faces = h('ul.people-faces', { 'data-testid': 'presence-list' });
  const count = h('span.people-count', { 'aria-live': 'polite' });
  el.append(faces, count);
  return {
    el,
    set(people) {
      clear(faces);
      const max = 5;
      people.slice(0, max).forEach((p) => {
        faces.append(
          h(
            'li.person',
            { title: p.self ? `${p.name} (you)` : p.name, dataset: { name: p.name, self: p.self ? '1' : '' } },
            avatar(p.name, p.color),
            h('span.sr-only', p.self ? `${p.name} (you)` : p.name),
          ),
        );
      });
      if (people.length > max) {
        const rest = people.slice(max).map((p) => p.name).join(', ');
        faces.append(h('li.person.person-more', { title: rest }, h('span.avatar.avatar-more', `+${people.length - max}`),
          h('span.sr-only', rest)));
      }
      const n = people.length;
      count.textContent = n === 0 ? 'Nobody editing' : n === 1 ? '1 here' : `${n} here`;
    },
  };
}

/** The connection indicator: link state, the transport in use, and edits not yet saved by the server. */
export function statusIndicator(): { el: HTMLElement; set(link: Link, unsent: number, transport: Transport): void } {
  const dot = h('span.status-dot', { 'aria-hidden': 'true' });
  const text = h('span.status-text');
  const via = h('span.status-transport');
  const el = h('div.status', { role: 'status', 'aria-live': 'polite', 'data-testid': 'status' }, dot, text, via);
  return {
    el,
    set(link, unsent, transport) {
      el.dataset.link = link;
      el.dataset.unsent = String(unsent);
      el.dataset.transport = transport;
      const edits = `${unsent} unsent edit${unsent === 1 ? '' : 's'}`;
      const name = TRANSPORT_NAMES[transport];
      let s: string;
      switch (link) {
        case 'connected':
          s = unsent > 0 ? `Saving… ${edits}` : 'Live';
          break;
        case 'connecting':
          s = 'Connecting…';
          break;
        case 'reconnecting':
          s = unsent > 0 ? `Reconnecting… ${edits}` : 'Reconnecting…';
          break;
        case 'offline':
          s = unsent > 0 ? `Offline · ${edits}` : 'Offline';
          break;
      }
      text.textContent = s;
      // Which transport carries the edits, while there is one.
      via.textContent = link === 'connected' ? ` · ${name}` : ''; // the space is for textContent; the flex gap spaces it
      via.hidden = link !== 'connected';
      const over = transport === 'websocket' ? 'over WebSocket' : `over ${name} (this network does not let WebSockets through)`;
      el.title =
        link === 'connected'
          ? unsent > 0
            ? `Connected ${over}; sending your latest edits`
            : `Connected ${over}; every edit is saved on the server`
          : 'Your edits are kept in this tab and sent when the connection is back';
    },
  };
}

export function notice(title: string, body: string | Node, action?: Node): HTMLElement {
  return h('section.notice', { role: 'alert' }, h('h2', title), typeof body === 'string' ? h('p', body) : body, action ?? null);
}
