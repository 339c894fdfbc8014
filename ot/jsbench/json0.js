// Times the JavaScript reference json0 (ot-json0 1.1.0) on the same documents
// and ops as the Go benchmarks in ot/json0/bench_test.go
// (BenchmarkApply, BenchmarkTransform, BenchmarkCompose), built the same way.
//
//   node ot/jsbench/json0.js            # all cases, ~1 s each
//   BENCH_MS=300 node ot/jsbench/json0.js
//
// json0.apply mutates the document it is given (and deep-clones the op with
// JSON.parse(JSON.stringify) on every call). A server cannot let one apply
// change the document other requests are reading, and sharedb hands apply a
// fresh copy of the snapshot (MemoryDB deep-clones it on every fetch, a real
// database deserialises one), so apply is timed two ways:
//   "clone+apply": JSON clone of the document, then apply (the sharedb server
//                  path, and the same contract as the Go Apply: input untouched);
//   "in place":    apply alone, on pre-made clones (the clone is not timed).
// transform and compose never mutate their inputs and are timed as they are.

'use strict';
const json0 = require('ot-json0').type;

const BENCH_MS = +(process.env.BENCH_MS || 1000);
const BIG_RECORDS = 4400;
const BIG_TEXT = 300000; // UTF-16 units, at least

const clone = (o) => JSON.parse(JSON.stringify(o));

function smallDoc() {
  return {
    title: 'Groceries',
    count: 3,
    done: false,
    tags: ['home', 'weekly', 'food'],
    items: [{name: 'milk', qty: 1}, {name: 'eggs', qty: 12}, {name: 'bread', qty: 1}],
    body: 'Remember fresh milk, a dozen eggs and sourdough bread. Héllo wörld, café crème 😀 see you at 6pm!',
  };
}

function record(i) {
  return {
    id: i,
    name: 'Record ' + i,
    done: i % 3 === 0,
    score: (i * 37) % 1000,
    tags: ['t' + (i % 7), 't' + (i % 11)],
    note: 'Note for record ' + i + ': lorem ipsum dolor sit amet, consectetur adipiscing elit.',
  };
}

function bigDoc() {
  const records = [];
  for (let i = 0; i < BIG_RECORDS; i++) records.push(record(i));
  const parts = [];
  let units = 0;
  for (let i = 0; units < BIG_TEXT; i++) {
    const line = 'Paragraph ' + i + ': the quick brown fox jumps over the lazy dog; Ünïcödé façade 😀 naïve.\n';
    parts.push(line);
    units += line.length;
  }
  return {title: 'Big document', stats: {views: 0, edits: 0}, records, text: parts.join('')};
}

// The UTF-16 offset nearest the middle that does not cut a surrogate pair.
function midOffset(s) {
  let m = Math.floor(s.length / 2);
  const c = s.charCodeAt(m - 1);
  if (c >= 0xd800 && c < 0xdc00) m++;
  return m;
}

function makeSet(name) {
  let doc, textPath, listPath, numPath, flagPath, newItem, flag;
  if (name === 'small') {
    doc = smallDoc();
    textPath = ['body']; listPath = ['items']; numPath = ['count'];
    newItem = {name: 'butter', qty: 2};
  } else {
    doc = bigDoc();
    textPath = ['text']; listPath = ['records']; numPath = ['stats', 'views'];
    newItem = {id: 99999, name: 'New record', done: false, score: 0, tags: [], note: 'fresh'};
  }
  const text = doc[textPath[0]];
  const list = doc[listPath[0]];
  const mid = midOffset(text);
  const lmid = Math.floor(list.length / 2);
  if (name === 'small') {
    flagPath = ['done']; flag = doc.done;
  } else {
    flagPath = listPath.concat([lmid, 'done']); flag = list[lmid].done;
  }
  let k = 5;
  const last = text.charCodeAt(mid + k - 1);
  if (last >= 0xd800 && last < 0xdc00) k++;
  const del = text.slice(mid, mid + k);
  const p = (base, ...more) => base.concat(more);

  const si = {p: p(textPath, mid), si: 'x'};
  const sd = {p: p(textPath, mid), sd: del};
  const li = {p: p(listPath, lmid), li: newItem};
  const ld = {p: p(listPath, lmid), ld: clone(list[lmid])};
  const na = {p: numPath, na: 1};
  const oi = {p: flagPath, od: flag, oi: !flag};
  const mixed = [si, na, oi, li];
  const ops = {si: [si], sd: [sd], li: [li], ld: [ld], na: [na], oi: [oi], mixed};
  const tr = {
    typing: [[si], [{p: p(textPath, mid), si: 'y'}]],
    mixed: [mixed, [
      {p: p(textPath, 0), si: 'Hello '},
      {p: p(listPath, 0), ld: clone(list[0])},
      {p: numPath, na: 2},
      {p: flagPath, od: flag, oi: 'conflict'},
    ]],
  };
  const co = {
    typing: [[si], [{p: p(textPath, mid + 1), si: 'y'}]],
    mixed: [mixed, [
      {p: p(textPath, mid + 1), si: 'y'},
      {p: numPath, na: 1},
      {p: p(listPath, lmid), ld: newItem},
    ]],
  };
  // Deep-copy every op so no op shares objects with the document.
  for (const o of [ops, tr, co]) for (const k of Object.keys(o)) o[k] = clone(o[k]);
  return {name, doc, ops, tr, co};
}

// A full GC between cases, so one case's garbage is not collected on the
// next one's time (gc() made available without command-line flags).
require('v8').setFlagsFromString('--expose-gc');
const gc = require('vm').runInNewContext('gc');

const ROUNDS = 5;
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

// Calibrates a batch size of about BENCH_MS / ROUNDS, runs ROUNDS batches
// and returns the median ns per call.
function timeIt(fn) {
  gc();
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    const dt = Number(process.hrtime.bigint() - t0);
    if (dt > 20e6) { n = Math.max(1, Math.round(n * (BENCH_MS * 1e6 / ROUNDS) / dt)); break; }
    n *= 4;
  }
  const per = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(per);
}

// In-place apply: each round applies the op to a batch of pre-made clones
// of the document; only the applies are timed. Median over rounds.
function timeInPlace(doc, op) {
  const big = JSON.stringify(doc).length > 1e5;
  const batch = big ? 25 : 5000;
  const rounds = big ? 3 * ROUNDS : ROUNDS;
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const copies = [];
    for (let i = 0; i < batch; i++) copies.push(clone(doc));
    gc();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) json0.apply(copies[i], op);
    per.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  return median(per);
}

let sink, bigBytes;
const rows = [];
for (const size of ['small', '1MB']) {
  const s = makeSet(size);
  if (size === '1MB') {
    bigBytes = Buffer.byteLength(JSON.stringify(s.doc));
  }
  for (const name of ['si', 'sd', 'li', 'ld', 'na', 'oi', 'mixed']) {
    const op = s.ops[name];
    const cloneApply = timeIt(() => { sink = json0.apply(clone(s.doc), op); });
    const inPlace = timeInPlace(s.doc, op);
    rows.push(['Apply/' + size + '/' + name, cloneApply, inPlace]);
  }
  for (const name of ['typing', 'mixed']) {
    const [a, b] = s.tr[name];
    rows.push(['Transform/' + size + '/' + name, timeIt(() => { sink = json0.transform(a, b, 'left'); })]);
  }
  for (const name of ['typing', 'mixed']) {
    const [a, b] = s.co[name];
    rows.push(['Compose/' + size + '/' + name, timeIt(() => { sink = json0.compose(a, b); })]);
  }
}

const fmt = (x) => x === undefined ? '' : x.toFixed(0);
console.log('node ' + process.version + ', ot-json0 ' + require('ot-json0/package.json').version + ', 1MB document: ' + bigBytes + ' bytes of JSON');
console.log('case'.padEnd(24) + 'ns/op'.padStart(14) + '  in-place ns/op (apply only)');
for (const [name, ns, inPlace] of rows) {
  console.log(name.padEnd(24) + fmt(ns).padStart(14) + (inPlace === undefined ? '' : fmt(inPlace).padStart(14)));
}
