// Reference oracle for refcheck_test.go: reads one JSON request per line on
// stdin, answers one JSON line on stdout, using the JavaScript reference
// rich-text type installed in ot/jsbench/node_modules.
'use strict';
const path = require('path');
const readline = require('readline');
const rt = require(path.join(__dirname, '..', '..', 'jsbench', 'node_modules', 'rich-text'));
const type = rt.type;
const Delta = rt.Delta;

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on('line', (line) => {
  let out;
  try {
    const q = JSON.parse(line);
    let res;
    switch (q.fn) {
      case 'apply': res = type.apply(q.doc, q.op).ops; break;
      case 'compose': res = type.compose(q.a, q.b).ops; break;
      case 'transform': res = type.transform(q.a, q.b, q.side).ops; break;
      case 'transformCursor': res = type.transformCursor(q.cursor, new Delta(q.op), q.own); break;
      case 'transformPresence': res = type.transformPresence(q.range, q.op, q.own); break;
      case 'diff': res = type.diff(q.a, q.b).ops; break;
      default: throw new Error('unknown fn ' + q.fn);
    }
    out = { ok: res === undefined ? null : res };
  } catch (e) {
    out = { err: String(e && e.message || e) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
