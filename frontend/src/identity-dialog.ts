// The first-visit dialog: pick the name and colour others see next to your cursor.
import { h, initials, textOn } from './dom';
import * as identity from './identity';

const SUGGESTED = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Niklaus'];

/** Resolves with the identity: the remembered one, the token's, or a newly chosen one. */
export async function ensureIdentity(): Promise<identity.Identity> {
  return identity.current() ?? chooseIdentity(true);
}

export function chooseIdentity(firstVisit = false): Promise<identity.Identity> {
  const existing = identity.current();
  if (existing?.token) return Promise.resolve(existing);
  let color = existing?.color ?? identity.PALETTE[Math.floor(Math.random() * identity.PALETTE.length)] ?? '#1c7ed6';
  const placeholder = SUGGESTED[Math.floor(Math.random() * SUGGESTED.length)] ?? 'Ada';

  return new Promise((resolve) => {
    const preview = h('span.avatar.avatar-lg', { 'aria-hidden': 'true' });
    const nameInput = h('input#identity-name', {
      type: 'text',
      name: 'name',
      required: true,
      maxLength: 64,
      autocomplete: 'nickname',
      placeholder: `e.g. ${placeholder}`,
      value: existing?.name ?? '',
    });
    const swatches = identity.PALETTE.map((c, i) =>
      h(
        'label.swatch',
        { style: { '--swatch': c } as unknown as Partial<CSSStyleDeclaration>, title: c },
        h('input', {
          type: 'radio',
          name: 'color',
          value: c,
          checked: c === color,
          'aria-label': `Colour ${i + 1} (${c})`,
        }),
        h('span.swatch-dot', { 'aria-hidden': 'true' }),
      ),
    );
    const form = h(
      'form.identity-form',
      { method: 'dialog' },
      h('div.identity-head', preview, h('div', h('h2#identity-title', firstVisit ? 'Welcome to Tandem' : 'Your name and colour'),
        h('p.muted', 'Others see this next to your cursor and in the list of who is here.'))),
      h('label.field-label', { htmlFor: 'identity-name' }, 'Name'),
      nameInput,
      h('fieldset.swatches', h('legend.field-label', 'Colour'), swatches),
      h('div.dialog-actions',
        firstVisit ? null : h('button.btn', { type: 'button', value: 'cancel', onclick: () => dialog.close('cancel') }, 'Cancel'),
        h('button.btn.btn-primary', { type: 'submit', value: 'save' }, firstVisit ? 'Start writing' : 'Save')),
    );
    const dialog = h('dialog.identity-dialog', { 'aria-labelledby': 'identity-title' }, form);

    const updatePreview = () => {
      preview.textContent = initials(nameInput.value || placeholder);
      preview.style.background = color;
      preview.style.color = textOn(color);
    };
    updatePreview();
    nameInput.addEventListener('input', updatePreview);
    form.addEventListener('change', (e) => {
      const t = e.target as HTMLInputElement;
      if (t.name === 'color' && identity.isColor(t.value)) {
        color = t.value;
        updatePreview();
      }
    });
    form.addEventListener('submit', (e) => {
      if (!nameInput.value.trim()) {
        e.preventDefault();
        nameInput.setCustomValidity('Please enter a name.');
        nameInput.reportValidity();
        return;
      }
    });
    nameInput.addEventListener('input', () => nameInput.setCustomValidity(''));
    dialog.addEventListener('cancel', (e) => {
      if (firstVisit) e.preventDefault(); // a name is needed before editing
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (dialog.returnValue === 'save' && nameInput.value.trim()) {
        resolve(identity.save(nameInput.value, color));
      } else {
        resolve(existing ?? identity.save(placeholder, color));
      }
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    nameInput.focus();
  });
}
