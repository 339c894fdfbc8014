'use strict';
// Per-type test kits: collection, initial data, seeded random ops that are valid against
// the client's current local data, and "marker" ops (insert a unique token) with a
// counter, used by the in-flight, restart and convergence tests.
//
// Positions never split a UTF-16 surrogate pair (json0 si/sd offsets and rich-text lengths
// are UTF-16 code units; text-unicode counts code points), so the suite never produces
// lone surrogates.

const { TYPES } = require('./client');

const TEXT_ALPHABET = ['a', 'b', 'c', 'x', 'y', 'z', ' ', 'é', '中', '😀', '\n'];

function randomText(rng, min = 1, max = 4) {
  let s = '';
  const n = rng.range(min, max);
  for (let i = 0; i < n; i++) s += rng.pick(TEXT_ALPHABET);
  return s;
}

// UTF-16 offsets of code-point boundaries of s: [0, ..., s.length]
function boundaries(s) {
  const out = [0];
  let off = 0;
  for (const ch of s) {
    off += ch.length;
    out.push(off);
  }
  return out;
}

// ---- text-unicode -----------------------------------------------------------------------

const textUnicode = {
  name: 'text-unicode',
  uri: TYPES['text-unicode'],
  collection: 'texts',
  initial: () => 'hello wörld 😀',
  text: (data) => data,
  randomOp(rng, data) {
    const cps = [...data];
    const len = cps.length;
    if (len === 0 || rng.chance(0.6)) {
      const pos = rng.int(len + 1);
      const str = randomText(rng);
      return pos ? [pos, str] : [str];
    }
    const pos = rng.int(len);
    const n = rng.range(1, Math.min(3, len - pos));
    const d = rng.chance(0.5) ? n : cps.slice(pos, pos + n).join('');
    return pos ? [pos, { d }] : [{ d }];
  },
  markerOp(data, marker, atEnd) {
    const len = [...data].length;
    return atEnd && len ? [len, marker] : [marker];
  },
  countMarker(data, marker) {
    return data.split(marker).length - 1;
  },
};

// ---- json0 --------------------------------------------------------------------------------

const TAG_KEYS = ['k1', 'k2', 'k3', 'k4'];

function randomValue(rng) {
  switch (rng.int(4)) {
    case 0: return randomText(rng);
    case 1: return rng.range(-100, 100);
    case 2: return { n: rng.int(10), s: randomText(rng) };
    default: return [rng.int(5), randomText(rng, 1, 2)];
  }
}

const json0 = {
  name: 'json0',
  uri: TYPES.json0,
  collection: 'jsons',
  initial: () => ({ title: 'hello wörld 😀', items: ['a', 'b', 'c'], count: 0, tags: {} }),
  text: (data) => JSON.stringify(data),
  randomOp(rng, data) {
    const items = data.items;
    const title = data.title;
    const b = boundaries(title);
    const choice = rng.int(100);
    if (choice < 25) {
      return [{ p: ['title', rng.pick(b)], si: randomText(rng) }];
    }
    if (choice < 40 && title.length > 0) {
      const i = rng.int(b.length - 1);
      const j = Math.min(b.length - 1, i + rng.range(1, 3));
      return [{ p: ['title', b[i]], sd: title.slice(b[i], b[j]) }];
    }
    if (choice < 55) {
      return [{ p: ['items', rng.int(items.length + 1)], li: randomValue(rng) }];
    }
    if (choice < 65 && items.length > 0) {
      const i = rng.int(items.length);
      return [{ p: ['items', i], ld: items[i] }];
    }
    if (choice < 72 && items.length > 0) {
      const i = rng.int(items.length);
      return [{ p: ['items', i], ld: items[i], li: randomValue(rng) }];
    }
    if (choice < 78 && items.length > 1) {
      const from = rng.int(items.length);
      let to = rng.int(items.length - 1);
      if (to >= from) to += 1;
      return [{ p: ['items', from], lm: to }];
    }
    if (choice < 88) {
      return [{ p: ['count'], na: rng.pick([-3, -1, 1, 2, 5]) }];
    }
    const key = rng.pick(TAG_KEYS);
    if (Object.prototype.hasOwnProperty.call(data.tags, key)) {
      return rng.chance(0.5)
        ? [{ p: ['tags', key], od: data.tags[key] }]
        : [{ p: ['tags', key], od: data.tags[key], oi: randomValue(rng) }];
    }
    // Sometimes two components in one op.
    const op = [{ p: ['tags', key], oi: randomValue(rng) }];
    if (rng.chance(0.3)) op.push({ p: ['count'], na: 1 });
    return op;
  },
  markerOp(data, marker, atEnd) {
    return [{ p: ['items', atEnd ? data.items.length : 0], li: marker }];
  },
  countMarker(data, marker) {
    return data.items.filter((x) => x === marker).length;
  },
};

// ---- rich-text ---------------------------------------------------------------------------

function deltaOps(data) {
  return Array.isArray(data) ? data : data.ops;
}

// Plain text of a rich-text snapshot (embeds as U+FFFC, one unit each like Delta lengths).
function richText(data) {
  let s = '';
  for (const op of deltaOps(data)) s += typeof op.insert === 'string' ? op.insert : '\uFFFC';
  return s;
}

// Boundaries that do not split a surrogate pair, within [0, text.length - 1] so that the
// final "\n" is never touched.
function richBoundaries(text) {
  const out = [];
  for (let i = 0; i <= text.length - 1; i++) {
    const prev = text.charCodeAt(i - 1);
    const cur = text.charCodeAt(i);
    const splits = i > 0 && prev >= 0xd800 && prev <= 0xdbff && cur >= 0xdc00 && cur <= 0xdfff;
    if (!splits) out.push(i);
  }
  return out;
}

const ATTRS = [
  { bold: true }, { bold: null }, { italic: true }, { italic: null },
  { color: '#c00' }, { color: '#00f' }, { color: null }, { bold: true, italic: true },
];

function withRetain(pos, ops) {
  return pos ? [{ retain: pos }, ...ops] : ops;
}

const rich = {
  name: 'rich-text',
  uri: TYPES['rich-text'],
  collection: 'richtexts',
  initial: () => [{ insert: 'Hello ' }, { insert: 'wörld', attributes: { bold: true } }, { insert: ' 😀\n' }],
  text: richText,
  randomOp(rng, data) {
    const text = richText(data);
    const b = richBoundaries(text);
    const choice = rng.int(100);
    let op;
    if (choice < 50 || b.length < 2) {
      const pos = rng.pick(b);
      let ins;
      if (rng.chance(0.08)) ins = { insert: { image: `img${rng.int(100)}.png` } };
      else if (rng.chance(0.3)) ins = { insert: randomText(rng), attributes: rng.pick(ATTRS.filter((a) => !Object.values(a).includes(null))) };
      else ins = { insert: randomText(rng) };
      op = withRetain(pos, [ins]);
    } else {
      const i = rng.int(b.length - 1);
      const j = Math.min(b.length - 1, i + rng.range(1, 4));
      const n = b[j] - b[i];
      op = choice < 75
        ? withRetain(b[i], [{ delete: n }])
        : withRetain(b[i], [{ retain: n, attributes: rng.pick(ATTRS) }]);
    }
    // Both wire forms: bare array and {ops: [...]}.
    return rng.chance(0.5) ? op : { ops: op };
  },
  markerOp(data, marker, atEnd) {
    const len = richText(data).length;
    return atEnd ? withRetain(len - 1, [{ insert: marker }]) : [{ insert: marker }];
  },
  countMarker(data, marker) {
    return richText(data).split(marker).length - 1;
  },
};

const KITS = [textUnicode, json0, rich];

module.exports = { KITS, textUnicode, json0, rich, richText, boundaries };
