'use strict';
// A cluster on one Redis and one MongoDB-wire server:
//
//   const cl = await startCluster({ tandem: 2, reference: 1, authSecret, name })
//   cl.instances[i]   {kind: 'tandem'|'reference', url (ws://…/ws), httpURL, port, logPath}
//                     (the N tandem instances first, then the M reference servers)
//   cl.tandem, cl.reference   the same instances by kind
//   cl.redisURL, cl.mongoURL (mongodb://127.0.0.1:PORT/), cl.mongoDB (a fresh database name)
//   await cl.kill9(i)    SIGKILL instance i and wait until it is gone
//   await cl.restart(i)  start instance i again (same port, same store); after kill9 or not
//   await cl.stopAll()   stop every instance (SIGTERM), then the Redis and Mongo servers
//
// Redis comes from scripts/redis-test-server.sh and Mongo from
// scripts/mongo-test-server.sh (each prints its URL; TANDEM_TEST_REDIS_URL /
// TANDEM_TEST_MONGO_URL make them hand out an existing server instead, and the fresh
// database name keeps runs apart). The instances are
//
//   $TANDEM_BIN serve --addr 127.0.0.1:PORT --store mongo --mongo-url URL --mongo-db DB --redis-url URL [--auth-secret S]
//   node refserver.js --port PORT --mongo URL/DB --redis URL [--auth-secret S]
//
// each on a free port, ready when GET /readyz is 200. Their logs are files under
// os.tmpdir() (printed by reportLogsOnFailure like those of lib/servers.js).
//
// Nothing is left behind: stopAll() in an after hook stops everything; if the test process
// exits without it (an exception, the runner's timeout, a signal) an exit handler kills the
// instances and stops both servers; and a detached watchdog does the same if the test
// process is killed with SIGKILL.

const { spawn, spawnSync, execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { Server, freePort } = require('./servers');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const REDIS_SCRIPT = path.join(ROOT, 'scripts', 'redis-test-server.sh');
const MONGO_SCRIPT = path.join(ROOT, 'scripts', 'mongo-test-server.sh');
const REFSERVER = path.join(__dirname, '..', 'refserver.js');

let clusterCounter = 0;
const runningClusters = new Set();

// Run a script, resolve with its trimmed stdout.
function runScript(script, args, env, timeoutMs = 180000) {
  return new Promise((resolve, reject) => {
    execFile(script, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${path.basename(script)} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        return;
      }
      resolve(stdout.trim().split('\n').pop().trim());
    });
  });
}

// What is needed for a cluster; null when everything is there, else the reason.
function clusterUnavailable({ needTandem = true } = {}) {
  if (needTandem && !process.env.TANDEM_BIN) return 'needs TANDEM_BIN=/path/to/tandem';
  if (needTandem && !fs.existsSync(process.env.TANDEM_BIN)) return `TANDEM_BIN ${process.env.TANDEM_BIN} does not exist`;
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (!process.env.TANDEM_TEST_REDIS_URL && !has('redis-server') && !has('apt-get')) return 'needs redis-server (or TANDEM_TEST_REDIS_URL)';
  if (!process.env.TANDEM_TEST_MONGO_URL && !has('go')) return 'needs go to build the MongoDB-wire test server (or TANDEM_TEST_MONGO_URL)';
  return null;
}

// false when the cluster tests should run, else why they are skipped. They run only when
// asked for (INTEROP_CLUSTER=1, as scripts/interop-cluster.sh does), so that the plain
// single-server `npm test` neither starts Redis and Mongo nor takes minutes longer.
function clusterSkipReason({ needTandem = true } = {}) {
  if (!/^(1|true|yes)$/i.test(process.env.INTEROP_CLUSTER || '')) {
    return 'cluster tests run only with INTEROP_CLUSTER=1 (scripts/interop-cluster.sh)';
  }
  return clusterUnavailable({ needTandem }) || false;
}

class Instance extends Server {
  constructor({ kind, cluster, index, authSecret }) {
    super({ authSecret, name: `${cluster.name}-${kind}${index}` });
    this.kind = kind;
    this.cluster = cluster;
    this.index = index;
    this.logPath = path.join(os.tmpdir(), `tandem-interop-cluster-${process.pid}-${cluster.seq}-${kind}${index}.log`);
  }

  needsDataDir() {
    return false;
  }

  command() {
    const cl = this.cluster;
    if (this.kind === 'tandem') {
      const args = ['serve', '--addr', `127.0.0.1:${this.port}`, '--store', 'mongo',
        '--mongo-url', cl.mongoURL, '--mongo-db', cl.mongoDB, '--redis-url', cl.redisURL];
      if (this.authSecret) args.push('--auth-secret', this.authSecret);
      if (process.env.INTEROP_TANDEM_LOG_LEVEL) args.push('--log-level', process.env.INTEROP_TANDEM_LOG_LEVEL);
      return { cmd: process.env.TANDEM_BIN, args };
    }
    const args = [REFSERVER, '--port', String(this.port), '--mongo', cl.mongoDBURL, '--redis', cl.redisURL];
    if (this.authSecret) args.push('--auth-secret', this.authSecret);
    return { cmd: process.execPath, args };
  }

  async start() {
    try {
      await super.start();
    } finally {
      this.cluster.writePids();
    }
    if (this.child) this.child.once('exit', () => this.cluster.writePids());
    return this;
  }
}

class Cluster {
  constructor({ tandem = 0, reference = 0, authSecret = null, name = 'cluster' }) {
    if (!(tandem + reference >= 1)) throw new Error('startCluster: want at least one instance');
    clusterCounter += 1;
    this.seq = clusterCounter;
    this.name = name;
    this.nTandem = tandem;
    this.nReference = reference;
    this.authSecret = authSecret;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-interop-cluster-'));
    this.pidsFile = path.join(this.dir, 'pids');
    this.mongoState = path.join(this.dir, 'mongo.state');
    this.mongoDB = `interop_${process.pid}_${this.seq}_${crypto.randomBytes(3).toString('hex')}`;
    this.redisURL = null;
    this.mongoURL = null;
    this.instances = [];
    this.watchdog = null;
    this.stopped = false;
  }

  get mongoDBURL() {
    const u = new URL(this.mongoURL);
    u.pathname = '/' + this.mongoDB;
    return u.toString();
  }

  get tandem() {
    return this.instances.filter((s) => s.kind === 'tandem');
  }

  get reference() {
    return this.instances.filter((s) => s.kind === 'reference');
  }

  writePids() {
    const pids = this.instances
      .filter((s) => s.child && s.child.pid && s.child.exitCode === null && s.child.signalCode === null)
      .map((s) => s.child.pid);
    try {
      fs.writeFileSync(this.pidsFile, pids.join('\n') + '\n');
    } catch (e) {
      // the dir is gone: stopping
    }
  }

  // A detached watchdog: once this test process is gone (even by SIGKILL), it kills the
  // instances still listed in the pids file and stops the Mongo server. (The Redis script
  // has its own watchdog: TANDEM_REDIS_TEST_WATCH_PID.)
  startWatchdog() {
    const script = `
      while kill -0 "$WATCHED" 2>/dev/null; do sleep 1; done
      if [ -f "$PIDS" ]; then for p in $(cat "$PIDS"); do kill -KILL "$p" 2>/dev/null; done; fi
      TANDEM_MONGO_TEST_STATE="$STATE" "$MONGO_SCRIPT" stop >/dev/null 2>&1
      if [ -n "$REDIS_URL" ]; then "$REDIS_SCRIPT" stop "$REDIS_URL" >/dev/null 2>&1; fi
      rm -rf "$DIR"
    `;
    const child = spawn('bash', ['-c', script], {
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        WATCHED: String(process.pid),
        PIDS: this.pidsFile,
        STATE: this.mongoState,
        MONGO_SCRIPT,
        REDIS_SCRIPT,
        REDIS_URL: this.redisURL || '',
        DIR: this.dir,
      },
    });
    child.unref();
    this.watchdog = child;
  }

  async start() {
    runningClusters.add(this);
    const [redisURL, mongoURL] = await Promise.all([
      runScript(REDIS_SCRIPT, ['start'], { TANDEM_REDIS_TEST_WATCH_PID: String(process.pid) }),
      runScript(MONGO_SCRIPT, ['start'], { TANDEM_MONGO_TEST_STATE: this.mongoState }),
    ]);
    this.redisURL = redisURL;
    this.mongoURL = mongoURL;
    this.startWatchdog();
    for (let i = 0; i < this.nTandem; i++) this.instances.push(new Instance({ kind: 'tandem', cluster: this, index: i, authSecret: this.authSecret }));
    for (let i = 0; i < this.nReference; i++) this.instances.push(new Instance({ kind: 'reference', cluster: this, index: i, authSecret: this.authSecret }));
    // Distinct ports up front (two freePort() calls in parallel could return the same one).
    const ports = new Set();
    for (const s of this.instances) {
      let p;
      do p = await freePort(); while (ports.has(p));
      ports.add(p);
      s.port = p;
    }
    await Promise.all(this.instances.map((s) => s.start()));
    return this;
  }

  async kill9(i) {
    await this.instances[i].kill();
    this.writePids();
  }

  async restart(i, { signal = 'SIGTERM' } = {}) {
    await this.instances[i].restart({ signal });
  }

  async stopAll() {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.instances.map((s) => s.stop()));
    const errors = [];
    await Promise.all([
      this.redisURL && runScript(REDIS_SCRIPT, ['stop', this.redisURL], {}).catch((e) => errors.push(e)),
      this.mongoURL !== null && runScript(MONGO_SCRIPT, ['stop'], { TANDEM_MONGO_TEST_STATE: this.mongoState }).catch((e) => errors.push(e)),
    ]);
    if (this.watchdog) {
      try {
        process.kill(this.watchdog.pid, 'SIGKILL');
      } catch (e) {
        // already gone
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    runningClusters.delete(this);
    if (errors.length) throw errors[0];
  }

  // Synchronous last resort for process exit (lib/servers.js kills the instances).
  stopSync() {
    if (this.stopped) return;
    this.stopped = true;
    for (const s of this.instances) {
      try {
        if (s.child) s.child.kill('SIGKILL');
      } catch (e) {
        // ignore
      }
    }
    if (this.redisURL) spawnSync(REDIS_SCRIPT, ['stop', this.redisURL], { stdio: 'ignore', timeout: 10000 });
    spawnSync(MONGO_SCRIPT, ['stop'], { stdio: 'ignore', timeout: 10000, env: { ...process.env, TANDEM_MONGO_TEST_STATE: this.mongoState } });
    try {
      if (this.watchdog) process.kill(this.watchdog.pid, 'SIGKILL');
    } catch (e) {
      // ignore
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

process.on('exit', () => {
  for (const cl of runningClusters) cl.stopSync();
});

async function startCluster(opts = {}) {
  const cl = new Cluster(opts);
  try {
    await cl.start();
  } catch (err) {
    await cl.stopAll().catch(() => {});
    throw err;
  }
  return cl;
}

async function stopAllClusters() {
  await Promise.all([...runningClusters].map((cl) => cl.stopAll()));
}

// ---- HTTP helpers for the read API ----------------------------------------------------------

// GET a JSON endpoint; resolves {status, body} (body parsed when it is JSON).
async function getJSON(url, { token, headers = {} } = {}) {
  const u = new URL(url);
  if (token != null) u.searchParams.set('token', token);
  const res = await fetch(u, { headers, signal: AbortSignal.timeout(15000) });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch (e) {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

const docPath = (c, id) => `/api/v1/docs/${encodeURIComponent(c)}/${encodeURIComponent(id)}`;

// The stored snapshot through GET /api/v1/docs/{c}/{id}: {v, type, data} (data undefined when absent).
async function apiSnapshot(httpURL, c, id, opts) {
  const { status, body } = await getJSON(httpURL + docPath(c, id), opts);
  if (status !== 200) throw new Error(`GET ${docPath(c, id)} on ${httpURL}: ${status} ${JSON.stringify(body)}`);
  return { v: body.v, type: body.type, data: body.data };
}

// The whole op log through GET /api/v1/docs/{c}/{id}/ops, following `next`.
async function apiOps(httpURL, c, id, { limit = 100, token } = {}) {
  const ops = [];
  let from = 0;
  for (let page = 0; page < 10000; page++) {
    const { status, body } = await getJSON(`${httpURL}${docPath(c, id)}/ops?from=${from}&limit=${limit}`, { token });
    if (status !== 200) throw new Error(`GET ${docPath(c, id)}/ops?from=${from} on ${httpURL}: ${status} ${JSON.stringify(body)}`);
    ops.push(...body.ops);
    if (body.next == null) return ops;
    if (!(body.next > from)) throw new Error(`op log paging does not advance: from ${from}, next ${body.next}`);
    from = body.next;
  }
  throw new Error('op log paging did not end');
}

module.exports = { startCluster, stopAllClusters, clusterSkipReason, getJSON, apiSnapshot, apiOps, docPath };
