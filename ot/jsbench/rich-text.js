// Times the JavaScript reference rich-text type (rich-text 4.1.0 /
// quill-delta 4.2.2) on the same documents and ops as the Go benchmarks in
// ot/richtext/bench_test.go, built the same way from the same seed.
//
//   node ot/jsbench/rich-text.js            # all cases
//   node ot/jsbench/rich-text.js Apply      # cases whose name contains "Apply"
//
// It first prints the inputs' checksums, which
// `go test ./ot/richtext/ -run TestBenchInputs -v` prints too, then one
// line per case: the median ns/op of 5 timed runs of about 1 s each (after
// a warm-up), with the spread.
'use strict';

const path = require('path');
const richText = require(path.join(__dirname, 'node_modules', 'rich-text'));

const type = richText.type;
const Delta = richText.Delta;

// mulberry32, the same 32-bit generator as the Go side.
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = ((t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const WORDS = [
  'lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing',
  'elit', 'sed', 'do', 'eiusmod', 'tempor', 'über', 'naïve', 'café',
  '日本語', '😀', '👍🏽', '🎉',
];

const ATTRS = [
  '', '', '', '',
  '{"bold":true}',
  '{"italic":true}',
  '{"color":"#e60000"}',
  '{"bold":true,"link":"https://example.com/"}',
];

// A document of at least target UTF-16 units: runs of words with
// attributes, a newline now and then, an image every 50 runs.
function benchDoc(target) {
  const r = mulberry32(42);
  const doc = new Delta();
  let length = 0;
  for (let run = 0; length < target; run++) {
    if (run % 50 === 49) {
      doc.insert({ image: 'https://example.com/img/' + run + '.png' });
      length++;
      continue;
    }
    const k = 1 + (r() % 6);
    let s = '';
    for (let i = 0; i < k; i++) {
      s += WORDS[r() % WORDS.length] + ' ';
    }
    if (r() % 4 === 0) {
      s += '\n';
    }
    const a = ATTRS[r() % ATTRS.length];
    doc.insert(s, a === '' ? undefined : JSON.parse(a));
    length += s.length;
  }
  return doc;
}

// The document text, embeds as NUL (the reference's own diff input).
function docText(delta) {
  return delta.ops.map((op) => (typeof op.insert === 'string' ? op.insert : '\u0000')).join('');
}

function safe(text, p) {
  while (p < text.length) {
    const u = text.charCodeAt(p);
    if (u < 0xDC00 || u > 0xDFFF) break;
    p++;
  }
  return p;
}

function fnv(text) {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < text.length; i++) {
    h = (h ^ text.charCodeAt(i)) >>> 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function benchCase(name, target) {
  const doc = benchDoc(target);
  const text = docText(doc);
  const L = text.length;
  const p1 = safe(text, Math.floor(L / 2));
  const p2 = safe(text, p1 + 7);
  const p3 = safe(text, p2 + 30);
  const q1 = safe(text, Math.floor(L / 4));
  const q2 = safe(text, q1 + 3);
  const r1 = safe(text, q2 + 20);
  const typed = 'Hello, wörld 😀';
  const edit = [{ retain: p1 }, { insert: typed }, { delete: p2 - p1 }, { retain: p3 - p2, attributes: { bold: true } }];
  const other = [{ retain: q1 }, { insert: 'typed text', attributes: { italic: true } }, { delete: q2 - q1 }, { retain: r1 - q2, attributes: { color: '#e60000' } }];
  const next = [{ retain: p1 + typed.length }, { insert: '!' }];
  const after = type.apply(doc, edit);
  return { name, doc, text, edit, other, next, after };
}

function timeRun(fn, iterations) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    sink = fn();
  }
  return Number(process.hrtime.bigint() - start) / iterations;
}

let sink;

function bench(name, fn) {
  // Warm up and calibrate to about 1 s per run.
  let n = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = fn();
    const elapsed = Number(process.hrtime.bigint() - start);
    if (elapsed > 2e8) {
      n = Math.max(1, Math.round((n * 1e9) / elapsed));
      break;
    }
    n *= 2;
  }
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(timeRun(fn, n));
  runs.sort((a, b) => a - b);
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  console.log(`${name.padEnd(24)} ${String(n).padStart(9)} ${fmt(runs[2]).padStart(12)} ns/op  (min ${fmt(runs[0])}, max ${fmt(runs[4])})`);
}

const filter = process.argv[2] || '';
const cases = [benchCase('small', 100), benchCase('1MB', 1 << 20)];

console.log(`node ${process.version}, rich-text ${require(path.join(__dirname, 'node_modules', 'rich-text', 'package.json')).version}, quill-delta ${require(path.join(__dirname, 'node_modules', 'quill-delta', 'package.json')).version}`);
for (const c of cases) {
  console.log(`${c.name}: doc ${c.text.length} units, ${c.doc.ops.length} ops, text fnv ${fnv(c.text)}; after ${c.after.ops.length} ops, text fnv ${fnv(docText(c.after))}`);
  console.log(`${c.name}: edit ${JSON.stringify(c.edit)}`);
  console.log(`${c.name}: other ${JSON.stringify(c.other)}`);
  console.log(`${c.name}: next ${JSON.stringify(c.next)}`);
}

const benches = [];
for (const c of cases) {
  benches.push(['BenchmarkApply/' + c.name, () => type.apply(c.doc, c.edit)]);
}
for (const c of cases) {
  benches.push(['BenchmarkTransform/' + c.name, () => type.transform(c.edit, c.other, 'left')]);
}
for (const c of cases) {
  benches.push(['BenchmarkCompose/' + c.name, () => type.compose(c.edit, c.next)]);
}
benches.push(['BenchmarkDiff/small', () => type.diff(cases[0].doc, cases[0].after)]);

for (const [name, fn] of benches) {
  if (name.includes(filter)) bench(name, fn);
}
