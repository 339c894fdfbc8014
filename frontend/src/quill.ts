// Quill 2 with the snow theme and quill-cursors, shared by the editor and the viewer.
import Quill from 'quill';
import QuillCursors from 'quill-cursors/core';
import 'quill/dist/quill.snow.css';
import 'quill-cursors/css';

Quill.register('modules/cursors', QuillCursors);

export { Quill, QuillCursors };

export interface Range {
  index: number;
  length: number;
}

/** Draws one remote cursor, recreating it when the name or colour changed. */
export function drawCursor(cursors: QuillCursors, id: string, name: string, color: string, range: Range | null): void {
  const existing = cursors.cursors().find((c) => c.id === id);
  if (existing && (existing.name !== name || existing.color !== color)) cursors.removeCursor(id);
  if (!range) {
    cursors.removeCursor(id);
    return;
  }
  cursors.createCursor(id, name, color);
  cursors.moveCursor(id, range);
}

/** The ops of a rich-text snapshot or op, in either JSON form (`[...]` or `{ops: [...]}`). */
export function asOps(data: unknown): Record<string, unknown>[] {
  if (Array.isArray(data)) return data as Record<string, unknown>[];
  if (data && typeof data === 'object' && Array.isArray((data as { ops?: unknown }).ops)) {
    return (data as { ops: Record<string, unknown>[] }).ops;
  }
  return [];
}
