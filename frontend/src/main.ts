// Routes: `/` the document list, `/d/<id>` the editor, `/v/<id>` the viewer.
import './styles.css';
import { h } from './dom';
import { editorPage } from './editor';
import { captureTokenFromURL } from './identity';
import { listPage } from './list';
import { brand, notice } from './ui';
import { viewerPage } from './viewer';

captureTokenFromURL();

const root = document.getElementById('app') as HTMLElement;
const path = window.location.pathname;
const match = /^\/([dv])\/([^/]+)\/?$/.exec(path);

if (path === '/' || path === '/index.html') {
  root.className = 'app app-list';
  listPage(root);
} else if (match && match[1] && match[2]) {
  const id = decodeURIComponent(match[2]);
  if (match[1] === 'd') {
    root.className = 'app app-editor';
    void editorPage(root, id);
  } else {
    root.className = 'app app-viewer';
    viewerPage(root, id);
  }
} else {
  document.title = 'Not found · Tandem';
  root.className = 'app';
  root.append(
    h('header.topbar', h('div.topbar-inner', brand())),
    h('main#main.page', { tabIndex: -1 },
      notice('Page not found', `There is nothing at ${path}.`, h('a.btn.btn-primary', { href: '/' }, 'All documents'))),
  );
}
