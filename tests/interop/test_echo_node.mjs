// Interop: examples/echo_server against Node's `ws` client (npm).
//
// Run by tests/interop/run.sh with WICK_BUILD set to the build directory and
// NODE_PATH pointing at the `ws` install. ES module imports do not honour
// NODE_PATH, so `ws` is loaded with a require() rooted there.
// Prints one line per case; exits non-zero when any case fails.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const require = createRequire((process.env.NODE_PATH || 'build/node/node_modules') + '/');
const WebSocket = require('ws');

const BUILD = path.resolve(process.env.WICK_BUILD || 'build');
const SERVER = path.join(BUILD, 'examples', 'echo_server');
const CASE_TIMEOUT_MS = 60000;

// --- The server process ---------------------------------------------------

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(SERVER, ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const onData = (chunk) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      proc.stdout.off('data', onData);
      const m = /^listening on (\d+)$/.exec(out.slice(0, nl));
      if (m) resolve({ proc, port: Number(m[1]) });
      else { proc.kill('SIGKILL'); reject(new Error(`echo_server did not start: ${out}`)); }
    };
    proc.stdout.on('data', onData);
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`echo_server exited with ${code}`)));
  });
}

function stopServer(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) { resolve(); return; }
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    proc.once('exit', () => { clearTimeout(timer); resolve(); });
    proc.kill('SIGTERM');
  });
}

// --- Client helpers ---------------------------------------------------------

// Opens a connection; incoming messages are queued for next().
function connect(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/node`);
    const items = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const msg = { data, isBinary };
      if (waiters.length) waiters.shift().resolve(msg); else items.push(msg);
    });
    ws.on('close', (code) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`closed (${code})`));
    });
    ws.next = () => (items.length ? Promise.resolve(items.shift())
      : new Promise((res, rej) => waiters.push({ resolve: res, reject: rej })));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function sendAsync(ws, data, opts) {
  return new Promise((resolve, reject) => ws.send(data, opts || {}, (e) => (e ? reject(e) : resolve())));
}

async function roundtrip(ws, data, binary) {
  await sendAsync(ws, data, { binary });
  const got = await ws.next();
  assert(got.isBinary === binary, `isBinary ${got.isBinary}, want ${binary}`);
  const want = Buffer.isBuffer(data) ? data : Buffer.from(data);
  assert(got.data.equals(want), `echo differs (len ${got.data.length}, want ${want.length})`);
}

function closeAndWait(ws) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    ws.once('close', (code) => resolve({ code, ms: performance.now() - t0 }));
    ws.close(1000, 'done');
  });
}

async function withConn(port, fn) {
  const ws = await connect(port);
  try {
    return await fn(ws);
  } finally {
    if (ws.readyState === WebSocket.OPEN) await closeAndWait(ws);
  }
}

// --- Cases -----------------------------------------------------------------

const cases = {
  text: (port) => withConn(port, (ws) => roundtrip(ws, 'hello from node', false)),

  binary: (port) => withConn(port, (ws) => roundtrip(ws, Buffer.from([0, 1, 2, 254, 255]), true)),

  empty: (port) => withConn(port, async (ws) => {
    await roundtrip(ws, '', false);
    await roundtrip(ws, Buffer.alloc(0), true);
  }),

  binary_16mib: (port) => withConn(port, async (ws) => {
    const data = randomBytes(16 * 1024 * 1024);
    const t0 = performance.now();
    await roundtrip(ws, data, true);
    return `${((performance.now() - t0) / 1000).toFixed(2)} s round trip`;
  }),

  text_1mib_utf8: (port) => withConn(port, async (ws) => {
    const unit = 'h\u00e9llo w\u00f6rld \u2713 \u6f22\u5b57 \u{1f389} ';
    const text = unit.repeat(Math.floor((1024 * 1024) / Buffer.byteLength(unit)));
    await roundtrip(ws, text, false);
    return `${Buffer.byteLength(text)} bytes`;
  }),

  fragmented: (port) => withConn(port, async (ws) => {
    await sendAsync(ws, 'frag', { fin: false });
    await sendAsync(ws, 'men', { fin: false });
    await sendAsync(ws, 'ted', { fin: true });
    const got = await ws.next();
    assert(!got.isBinary && got.data.toString() === 'fragmented', `got ${got.data}`);
    await sendAsync(ws, Buffer.from([1, 2]), { binary: true, fin: false });
    await sendAsync(ws, Buffer.from([3]), { binary: true, fin: true });
    const bin = await ws.next();
    assert(bin.isBinary && bin.data.equals(Buffer.from([1, 2, 3])), `got ${bin.data}`);
  }),

  ping: (port) => withConn(port, async (ws) => {
    const payload = Buffer.from('node ping');
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    const t0 = performance.now();
    ws.ping(payload);
    const data = await pong;
    assert(data.equals(payload), `pong payload ${data}`);
    return `${(performance.now() - t0).toFixed(1)} ms`;
  }),

  pipelined: (port) => withConn(port, async (ws) => {
    const msgs = [];
    for (let i = 0; i < 2000; i++) {
      msgs.push(i % 2 ? randomBytes(i % 3000) : `m${i}-` + 'x'.repeat(i % 3000));
    }
    const t0 = performance.now();
    for (const m of msgs) ws.send(m, { binary: typeof m !== 'string' });
    for (let i = 0; i < msgs.length; i++) {
      const got = await ws.next();
      const want = Buffer.isBuffer(msgs[i]) ? msgs[i] : Buffer.from(msgs[i]);
      assert(got.data.equals(want), `message ${i} differs`);
    }
    return `${msgs.length} messages in ${((performance.now() - t0) / 1000).toFixed(2)} s`;
  }),

  clean_close: async (port) => {
    const ws = await connect(port);
    await roundtrip(ws, 'bye', false);
    const { code, ms } = await closeAndWait(ws);
    assert(code === 1000, `close code ${code}`);
    // ws waits up to 30 s for the server to close TCP (RFC 6455 7.1.1).
    assert(ms < 2000, `server did not close TCP (${ms.toFixed(0)} ms)`);
    return `${ms.toFixed(1)} ms`;
  },
};

// --- Runner ----------------------------------------------------------------

function withTimeout(promise, ms) {
  let timer;
  const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out')), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function main() {
  const { proc, port } = await startServer();
  proc.removeAllListeners('exit');
  let failures = 0;
  try {
    for (const [name, fn] of Object.entries(cases)) {
      const t0 = performance.now();
      try {
        const note = await withTimeout(fn(port), CASE_TIMEOUT_MS);
        const secs = ((performance.now() - t0) / 1000).toFixed(3);
        console.log(`ok   ${name.padEnd(20)} ${secs} s${note ? ` (${note})` : ''}`);
      } catch (e) {
        failures++;
        console.log(`FAIL ${name.padEnd(20)} ${e.message}`);
      }
      if (proc.exitCode !== null || proc.signalCode !== null) {
        console.log(`FAIL echo_server exited (${proc.exitCode ?? proc.signalCode})`);
        failures++;
        break;
      }
    }
  } finally {
    await stopServer(proc);
  }
  const version = require('ws/package.json').version;
  console.log(`echo_server vs node ws ${version}: ${failures ? `${failures} failed` : 'all passed'}`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.log(`FAIL ${e.stack || e}`); process.exit(1); });
