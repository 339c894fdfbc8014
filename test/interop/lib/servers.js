'use strict';
// Launches the server under test: the reference ShareDB server (refserver.js) or
// `tandem serve`. Choose with INTEROP_SERVER=reference|tandem (default: reference);
// tandem needs TANDEM_BIN=/path/to/tandem.
//
//   const s = await startServer({ authSecret })
//   s.url       ws://127.0.0.1:PORT/ws
//   s.httpURL   http://127.0.0.1:PORT
//   s.stop()    SIGTERM (SIGKILL after a grace period), wait for exit, remove its data dir
//   s.kill()    SIGKILL, wait for exit
//   s.restart({ signal: 'SIGTERM' | 'SIGKILL' })  stop the process and start it again on
//               the same port with the same data dir (tandem: same bolt store)
//
// Each child's stdout+stderr goes to a log file under os.tmpdir(); reportLogsOnFailure
// (use it as an afterEach hook) prints the paths when a test fails.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const KIND = (process.env.INTEROP_SERVER || 'reference').toLowerCase();
if (KIND !== 'reference' && KIND !== 'tandem') {
  throw new Error(`INTEROP_SERVER must be "reference" or "tandem", got ${JSON.stringify(KIND)}`);
}
const REFSERVER = path.join(__dirname, '..', 'refserver.js');
const READY_TIMEOUT_MS = Number(process.env.INTEROP_READY_TIMEOUT_MS || 15000);
const STOP_GRACE_MS = 5000;
// INTEROP_REF_PERSIST=1: run the reference server with a file-backed store (--data-file) so
// that the restart test can be validated against it too.
const REF_PERSIST = KIND === 'reference' && /^(1|true|yes)$/i.test(process.env.INTEROP_REF_PERSIST || '');

const live = new Set();
const children = new Set(); // every spawned process still running
let counter = 0;

// If this test process dies (runner timeout, Ctrl-C) do not leave servers behind.
function killChildrenSync() {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch (e) {
      // ignore
    }
  }
}
process.on('exit', killChildrenSync);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.once(sig, () => {
    killChildrenSync();
    process.exit(128 + (os.constants.signals[sig] || 0));
  });
}

function serverKind() {
  return KIND;
}

// Does restart() keep the data? (tandem: bolt store; reference: only with INTEROP_REF_PERSIST)
function serverPersists() {
  return KIND === 'tandem' || REF_PERSIST;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function getStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tail(file, n = 40) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch (e) {
    return '(no log)';
  }
}

class Server {
  constructor({ authSecret, name }) {
    this.kind = KIND;
    this.authSecret = authSecret || null;
    this.name = name || 'server';
    this.port = null;
    this.child = null;
    this.exitPromise = null;
    this.dataDir = null;
    this.terminating = false;
    this.unexpectedExit = null;
    counter += 1;
    this.logPath = path.join(os.tmpdir(), `tandem-interop-${KIND}-${process.pid}-${counter}-${this.name.replace(/[^\w.-]+/g, '_')}.log`);
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get httpURL() {
    return `http://127.0.0.1:${this.port}`;
  }

  command() {
    if (KIND === 'tandem') {
      const bin = process.env.TANDEM_BIN;
      if (!bin) throw new Error('INTEROP_SERVER=tandem needs TANDEM_BIN=/path/to/tandem');
      const args = ['serve', '--addr', `127.0.0.1:${this.port}`, '--store', 'bolt', '--data-dir', this.dataDir];
      if (this.authSecret) args.push('--auth-secret', this.authSecret);
      return { cmd: bin, args };
    }
    const args = [REFSERVER, '--port', String(this.port)];
    if (this.authSecret) args.push('--auth-secret', this.authSecret);
    if (REF_PERSIST) args.push('--data-file', path.join(this.dataDir, 'refdb.json'));
    return { cmd: process.execPath, args };
  }

  // Whether start() makes a data dir (bolt store / reference --data-file).
  needsDataDir() {
    return serverPersists();
  }

  async start() {
    if (this.port === null) this.port = await freePort();
    if (this.needsDataDir() && this.dataDir === null) {
      this.dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tandem-interop-data-'));
    }
    const { cmd, args } = this.command();
    const fd = fs.openSync(this.logPath, 'a');
    fs.writeSync(fd, `\n===== ${new Date().toISOString()} start: ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: process.env });
    fs.closeSync(fd);
    this.child = child;
    children.add(child);
    child.once('exit', () => children.delete(child));
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => resolve({ code: null, signal: null, error: err }));
    });
    let exited = null;
    this.exitPromise.then((e) => {
      exited = e;
      if (this.child === child && !this.terminating) {
        // Died on its own (crash, panic, fatal error): say so in the log and on failure.
        this.unexpectedExit = e;
        try {
          fs.appendFileSync(this.logPath, `===== ${new Date().toISOString()} EXITED UNEXPECTEDLY ${JSON.stringify(e)}\n`);
        } catch (err) {
          // ignore
        }
      }
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited) {
        throw new Error(`${this.kind} server exited before ready (${JSON.stringify(exited)}); log ${this.logPath}:\n${tail(this.logPath)}`);
      }
      if (await getStatus(`${this.httpURL}/readyz`) === 200) break;
      if (Date.now() > deadline) {
        await this._terminate('SIGKILL');
        throw new Error(`${this.kind} server not ready after ${READY_TIMEOUT_MS} ms; log ${this.logPath}:\n${tail(this.logPath)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    live.add(this);
    return this;
  }

  async _terminate(signal) {
    const child = this.child;
    if (!child) return;
    this.terminating = true;
    let note = '';
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      let timer;
      const res = await Promise.race([
        this.exitPromise,
        new Promise((r) => { timer = setTimeout(() => r('timeout'), STOP_GRACE_MS); }),
      ]);
      clearTimeout(timer);
      if (res === 'timeout') {
        note = `; did not exit within ${STOP_GRACE_MS} ms of ${signal}, sent SIGKILL`;
        child.kill('SIGKILL');
        await this.exitPromise;
      }
    }
    this.child = null;
    this.terminating = false;
    fs.appendFileSync(this.logPath, `===== ${new Date().toISOString()} stopped (${signal}${note})\n`);
  }

  async stop() {
    live.delete(this);
    await this._terminate('SIGTERM');
    if (this.dataDir) {
      await fsp.rm(this.dataDir, { recursive: true, force: true });
      this.dataDir = null;
    }
  }

  async kill() {
    await this._terminate('SIGKILL');
  }

  async restart({ signal = 'SIGTERM' } = {}) {
    await this._terminate(signal);
    await this.start();
  }
}

async function startServer(opts = {}) {
  const server = new Server(opts);
  await server.start();
  return server;
}

async function stopAll() {
  await Promise.all([...live].map((s) => s.stop()));
}

// afterEach hook: on failure print where the server logs are.
function reportLogsOnFailure(t) {
  if (t && t.passed === false) {
    for (const s of live) {
      const died = s.unexpectedExit ? ` (the server EXITED UNEXPECTEDLY: ${JSON.stringify(s.unexpectedExit)})` : '';
      console.log(`[interop] test "${t.name}" failed; ${s.kind} server log (${s.name}): ${s.logPath}${died}`);
    }
  }
}

module.exports = { startServer, stopAll, reportLogsOnFailure, serverKind, serverPersists, freePort, Server };
