#!/usr/bin/env node
'use strict';
// Reads the reports bench/run.sh wrote into a results directory and prints the markdown
// table: per scenario and metric, Tandem, ShareDB and Tandem / ShareDB, then the targets.
//
//   node bench/summarize.js bench/results/<timestamp>

const fs = require('node:fs');
const path = require('node:path');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node bench/summarize.js RESULTS_DIR');
  process.exit(2);
}

const runs = {}; // "mode-scenario" -> {tandem: {rep, meta}, sharedb: {...}}
for (const f of fs.readdirSync(dir).sort()) {
  const m = /^(db|memory)-([a-e])-(tandem|sharedb)\.meta\.json$/.exec(f);
  if (!m) continue;
  const meta = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  let rep = null;
  try {
    rep = JSON.parse(fs.readFileSync(path.join(dir, `${m[1]}-${m[2]}-${m[3]}.json`), 'utf8'));
  } catch (e) {
    // the load run failed before writing its report; its .log says why
  }
  const key = `${m[1]}-${m[2]}`;
  runs[key] = runs[key] || {};
  runs[key][m[3]] = { rep, meta };
}

const scenarioNames = {
  a: '(a) 1 doc, 20 editors, 5 ops/s each',
  b: '(b) 100 docs, 200 editors, 1 op/s each',
  c: '(c) 1 doc, 50 editors, rate 0',
  d: '(d) 2,000 idle editors, 100 docs',
  e: '(e) 1 doc, 10 editors at 5 ops/s, 2,000 viewers',
};

// Metrics: [label, fn(run) -> number|null, unit, better ('higher'|'lower')]
const throughput = ['throughput, acked ops/s', (r) => r.rep && r.rep.ops.acked_per_second, '', 'higher'];
const lat = (which, q, label) => [label, (r) => {
  const l = r.rep && r.rep.latency[which];
  return l && l.count > 0 ? l[q] : null;
}, ' ms', 'lower'];
const cpuPerOp = ['server CPU per acked op, ms', (r) => {
  const acked = r.rep && r.rep.ops.acked;
  return acked > 0 ? (r.meta.server_cpu_s * 1000) / acked : null;
}, '', 'lower'];
const memPerConn = ['server RSS per idle editor, KiB', (r) => {
  const before = r.meta.rss_before_kib || [];
  const after = r.meta.rss_connected_kib || [];
  const n = r.meta.connections_at_rss;
  if (!after.length || !n) return null;
  let d = 0;
  for (let i = 0; i < after.length; i++) d += after[i] - (before[i] || 0);
  return d / n;
}, '', 'lower'];
const rssConnected = ['server RSS with everyone connected, MiB', (r) => {
  const after = r.meta.rss_connected_kib || [];
  return after.length ? after.reduce((a, b) => a + b, 0) / 1024 : null;
}, '', 'lower'];
const dbCpuPerOp = ['Mongo + Redis CPU per acked op, ms', (r) => {
  const acked = r.rep && r.rep.ops.acked;
  return acked > 0 ? (r.meta.db_cpu_s * 1000) / acked : null;
}, '', 'lower'];
const connectTime = ['time to connect and subscribe everyone, s', (r) => r.rep && r.rep.phases.ramp_s, '', 'lower'];
const peakRSS = ['server peak RSS (all instances), MiB', (r) => {
  const p = r.meta.peak_rss_kib || [];
  return p.length ? p.reduce((a, b) => a + b, 0) / 1024 : null;
}, '', 'lower'];

const typing = [throughput, lat('ack', 'p50_ms', 'ack p50'), lat('ack', 'p99_ms', 'ack p99'), lat('fanout_editor', 'p99_ms', 'fan-out to editors p99'), cpuPerOp, dbCpuPerOp];
const metrics = {
  a: typing,
  b: typing,
  c: [throughput, lat('ack', 'p50_ms', 'ack p50'), lat('ack', 'p99_ms', 'ack p99'), cpuPerOp, dbCpuPerOp],
  d: [memPerConn, rssConnected, connectTime],
  e: [lat('fanout_viewer', 'p50_ms', 'fan-out to viewers p50'), lat('fanout_viewer', 'p99_ms', 'fan-out to viewers p99'),
    lat('fanout_editor', 'p99_ms', 'fan-out to editors p99'), lat('ack', 'p99_ms', 'ack p99'), throughput, cpuPerOp, dbCpuPerOp, peakRSS],
};

function fmt(x) {
  if (x == null || Number.isNaN(x)) return 'n/a';
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

function ratio(t, s) {
  if (t == null || s == null || s === 0) return 'n/a';
  const r = t / s;
  return (r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2)) + 'x';
}

function verdict(r) {
  if (!r) return 'not run';
  if (!r.rep) return `no report (exit ${r.meta.load_exit})`;
  const v = r.rep.verdict;
  if (v.ok) return 'OK';
  const kinds = new Set(v.reasons.map((s) => (/quiet phase timed out|not settled|is at v/.test(s) ? 'did not settle in time' : 'FAILED')));
  return [...kinds].join(', ');
}

// Targets: [mode, scenario, metric label, test(t, s) -> bool, text]
const targets = [
  ['db', 'c', throughput[0], (t, s) => t >= 10 * s, 'per-document commit throughput ≥ 10x ShareDB (c), with the database'],
  ['memory', 'c', throughput[0], (t, s) => t >= 10 * s, 'per-document commit throughput ≥ 10x ShareDB (c), in memory'],
  ['db', 'b', 'ack p99', (t, s) => t <= s / 5, 'ack p99 in (b) ≤ 1/5 of ShareDB\'s, with the database'],
  ['memory', 'b', 'ack p99', (t, s) => t <= s / 5, 'ack p99 in (b) ≤ 1/5 of ShareDB\'s, in memory'],
  ['db', 'd', memPerConn[0], (t, s) => t <= s / 2, 'memory per idle editor ≤ 1/2 of ShareDB\'s, with the database'],
  ['memory', 'd', memPerConn[0], (t, s) => t <= s / 2, 'memory per idle editor ≤ 1/2 of ShareDB\'s, in memory'],
  ['db', 'e', 'fan-out to viewers p99', (t) => t < 100, 'p99 fan-out to viewers < 100 ms in (e), with the database'],
  ['memory', 'e', 'fan-out to viewers p99', (t) => t < 100, 'p99 fan-out to viewers < 100 ms in (e), in memory'],
];

// Tandem's commit counters (bench/run.sh scrapes /metrics at the end of each run).
function commitStats(run, instances) {
  let commits = 0;
  let ops = 0;
  let retries = 0;
  let found = false;
  for (let i = 0; i < instances; i++) {
    let text;
    try {
      text = fs.readFileSync(path.join(dir, `${run}.server${i}.metrics.txt`), 'utf8');
    } catch (e) {
      continue;
    }
    found = true;
    for (const line of text.split('\n')) {
      const [name, value] = line.trim().split(/\s+/);
      const n = Number(value);
      if (name === 'tandem_commit_batch_ops_count') commits += n;
      else if (name === 'tandem_commit_batch_ops_sum') ops += n;
      else if (name && name.startsWith('tandem_commit_retries_total')) retries += n;
    }
  }
  if (!found) return 'n/a';
  return `${commits} (${commits ? (ops / commits).toFixed(1) : '0'}), ${retries}`;
}

const values = {}; // mode-sc-label -> {t, s}
const out = [];
const machine = fs.existsSync(path.join(dir, 'machine.txt')) ? fs.readFileSync(path.join(dir, 'machine.txt'), 'utf8').trim() : '';
if (machine) out.push('```', machine, '```', '');

for (const mode of ['db', 'memory']) {
  const scs = Object.keys(scenarioNames).filter((sc) => runs[`${mode}-${sc}`]);
  if (!scs.length) continue;
  out.push(mode === 'db'
    ? '### With the database: MongoDB wire (FerretDB test server) + Redis, two instances of each'
    : '### In memory, no Redis, one instance of each');
  out.push('');
  out.push('| scenario | metric | Tandem | ShareDB | Tandem / ShareDB |');
  out.push('|---|---|---:|---:|---:|');
  for (const sc of scs) {
    const pair = runs[`${mode}-${sc}`];
    const T = pair.tandem;
    const S = pair.sharedb;
    let first = true;
    for (const metric of metrics[sc]) {
      if (mode !== 'db' && metric === dbCpuPerOp) continue; // no database in memory
      const [label, fn, unit, better] = metric;
      const t = T ? fn(T) : null;
      const s = S ? fn(S) : null;
      values[`${mode}-${sc}-${label}`] = { t, s };
      out.push(`| ${first ? scenarioNames[sc] : ''} | ${label} (${better} is better) | ${fmt(t)}${t != null ? unit : ''} | ${fmt(s)}${s != null ? unit : ''} | ${ratio(t, s)} |`);
      first = false;
    }
    out.push(`| | verdict of the load tester | ${verdict(T)} | ${verdict(S)} | |`);
  }
  out.push('');
  // Where the CPU went: the servers, the database, the tester (all on the same machine).
  out.push('<details><summary>CPU seconds per run (servers, Mongo + Redis, tester) and wall time</summary>');
  out.push('');
  out.push('| run | wall s | server CPU s | Mongo + Redis CPU s | tester CPU s | acked ops | Tandem store commits (ops per commit), retries |');
  out.push('|---|---:|---:|---:|---:|---:|---|');
  for (const sc of scs) {
    for (const sys of ['tandem', 'sharedb']) {
      const r = runs[`${mode}-${sc}`][sys];
      if (!r) continue;
      const m = r.rep ? r.rep.memory : {};
      const tester = r.rep ? (m.cpu_user_s || 0) + (m.cpu_sys_s || 0) : null;
      out.push(`| ${mode}-${sc}-${sys} | ${fmt(r.meta.wall_s)} | ${fmt(r.meta.server_cpu_s)} | ${mode === 'db' ? fmt(r.meta.db_cpu_s) : '–'} | ${fmt(tester)} | ${r.rep ? r.rep.ops.acked : 'n/a'} | ${sys === 'tandem' ? commitStats(`${mode}-${sc}-${sys}`, r.meta.instances) : ''} |`);
    }
  }
  out.push('');
  out.push('</details>');
  out.push('');
}

out.push('### Targets');
out.push('');
out.push('| target | Tandem | ShareDB | result |');
out.push('|---|---:|---:|---|');
for (const [mode, sc, label, test, text] of targets) {
  const v = values[`${mode}-${sc}-${label}`];
  if (!v) continue;
  let res = 'not measured';
  if (v.t != null && (v.s != null || sc === 'e')) res = test(v.t, v.s) ? '**met**' : '**missed**';
  const rr = v.s != null && v.t != null && sc !== 'e' ? ` (${ratio(v.t, v.s)})` : '';
  out.push(`| ${text} | ${fmt(v.t)} | ${fmt(v.s)} | ${res}${rr} |`);
}
out.push('');
process.stdout.write(out.join('\n') + '\n');
