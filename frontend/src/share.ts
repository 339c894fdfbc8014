// The editor's Share dialog: the read-only viewer link and the editing link.
import { h, toast } from './dom';

export function viewerURL(id: string): string {
  return `${window.location.origin}/v/${encodeURIComponent(id)}`;
}

export function editorURL(id: string): string {
  return `${window.location.origin}/d/${encodeURIComponent(id)}`;
}

async function copy(text: string, input: HTMLInputElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    toast('Link copied');
  } catch {
    // No clipboard permission: leave the link selected for Ctrl+C.
    input.focus();
    input.select();
    toast('Press Ctrl+C to copy the selected link');
  }
}

function linkRow(label: string, hint: string, url: string, testid: string): HTMLElement {
  const inputId = `share-${testid}`;
  const input = h('input.share-input', { id: inputId, type: 'text', readOnly: true, value: url, 'data-testid': testid });
  input.addEventListener('focus', () => input.select());
  return h(
    'div.share-row',
    h('label.field-label', { htmlFor: inputId }, label),
    h('p.muted.share-hint', hint),
    h('div.share-line', input,
      h('button.btn', { type: 'button', onclick: () => void copy(url, input), 'aria-label': `Copy ${label.toLowerCase()}` }, 'Copy'),
      h('a.btn.btn-ghost', { href: url, target: '_blank', rel: 'noopener', 'aria-label': `Open ${label.toLowerCase()} in a new tab` }, 'Open')),
  );
}

export function shareDialog(id: string, title: string): void {
  const dialog = h(
    'dialog.share-dialog',
    { 'aria-labelledby': 'share-title' },
    h('form', { method: 'dialog' },
      h('h2#share-title', 'Share “', title, '”'),
      linkRow('Viewer link', 'Read-only: follows the document live, with everyone’s cursors.', viewerURL(id), 'viewer-link'),
      linkRow('Editor link', 'Anyone with this link can edit.', editorURL(id), 'editor-link'),
      h('div.dialog-actions', h('button.btn.btn-primary', { type: 'submit', value: 'close' }, 'Done'))),
  );
  dialog.addEventListener('close', () => dialog.remove());
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close(); // a click on the backdrop
  });
  document.body.appendChild(dialog);
  dialog.showModal();
  dialog.querySelector<HTMLInputElement>('input')?.focus();
}
