// Times the reference ot-text-unicode 4.0.0 on the same documents and ops
// as the Go benchmarks in ot/textunicode/bench_test.go (BenchmarkApply,
// BenchmarkTransform, BenchmarkCompose, sub-benchmarks small and 1MB).
//
//   node ot/jsbench/text-unicode.js [seconds per case, default 2]
//
// Prints one line per case: name, ns/op, cpu-ns/op, iterations. Results are collected
// in docs/bench/ot-text-unicode.md.
'use strict'

const { type } = require('./node_modules/ot-text-unicode')

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;\n0123456789'
const EMOJI = ['😀', '🎉', '👍', '🚀', '🦄']

// benchDoc mirrors the Go benchDoc: exactly nbytes bytes of UTF-8, ASCII
// with an emoji at about one character in 64, from a 32-bit LCG seeded with
// 12345. Returns the document and its length in code points.
function benchDoc (nbytes) {
  const parts = []
  let x = 12345
  let bytes = 0
  let n = 0
  while (bytes < nbytes) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    const v = x >>> 16
    if (v % 64 === 0 && bytes + 4 <= nbytes) {
      parts.push(EMOJI[(v >>> 6) % EMOJI.length])
      bytes += 4
    } else {
      parts.push(ALPHABET[v % ALPHABET.length])
      bytes += 1
    }
    n++
  }
  return { doc: parts.join(''), n }
}

function benchCases () {
  return [['small', 100], ['1MB', 1 << 20]].map(([name, nbytes]) => {
    const { doc, n } = benchDoc(nbytes)
    const m = Math.floor(n / 2)
    return {
      name,
      doc,
      n,
      a: [m, 'Hello, 世界 🎉!', 7, { d: 12 }],
      b: [m - 5, { d: 15 }, 35, 'brave new 🌍'],
      c: [m + 3, { d: 6 }, 20, 'xyz 🚀']
    }
  })
}

let sink = 0

// time runs fn in batches until `seconds` have passed (after a warm-up of a
// quarter of that) and returns wall-clock ns/op and process CPU ns/op (user
// + system, GC included; like the Go benchmarks' cpu-ns/op metric).
function time (fn, seconds) {
  const run = (budgetNs) => {
    let iters = 0
    let batch = 1
    const cpu0 = process.cpuUsage()
    const start = process.hrtime.bigint()
    let elapsed = 0n
    while (elapsed < budgetNs) {
      for (let i = 0; i < batch; i++) sink += fn().length
      iters += batch
      elapsed = process.hrtime.bigint() - start
      if (batch < 1 << 20) batch *= 2
    }
    const cpu = process.cpuUsage(cpu0)
    return { nsPerOp: Number(elapsed) / iters, cpuNsPerOp: (cpu.user + cpu.system) * 1000 / iters, iters }
  }
  run(BigInt(Math.round(seconds * 0.25e9)))
  return run(BigInt(Math.round(seconds * 1e9)))
}

function main () {
  const seconds = Number(process.argv[2] || 2)
  const cases = benchCases()
  // Same digest as the Go TestBenchCases log, to check the inputs match.
  for (const c of cases) {
    const after = type.apply(c.doc, c.a)
    console.log(`# ${c.name}: doc ${Buffer.byteLength(c.doc)} bytes, ${c.n} code points;` +
      ` transform ${JSON.stringify(type.transform(c.a, c.b, 'left'))};` +
      ` compose ${JSON.stringify(type.compose(c.a, c.c))}; apply -> ${[...after].length} code points`)
  }
  console.log(`# node ${process.version}, ot-text-unicode ${require('./node_modules/ot-text-unicode/package.json').version}`)
  const results = []
  for (const [op, fn] of [
    ['Apply', (c) => () => type.apply(c.doc, c.a)],
    ['Transform', (c) => () => type.transform(c.a, c.b, 'left')],
    ['Compose', (c) => () => type.compose(c.a, c.c)]
  ]) {
    for (const c of cases) {
      const r = time(fn(c), seconds)
      results.push(r)
      console.log(`${op}/${c.name}\t${r.nsPerOp.toFixed(1)} ns/op\t${r.cpuNsPerOp.toFixed(1)} cpu-ns/op\t${r.iters} iterations`)
    }
  }
  if (sink === 42) console.log('')
}

main()
