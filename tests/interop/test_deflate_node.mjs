// Interop: permessage-deflate (RFC 7692) with Node's `ws`, both roles:
// examples/echo_server against ws clients asking for each parameter
// combination, and examples/echo_client against ws servers. ws's own
// `ws.extensions` (the agreed header) proves compression was negotiated;
// messages of 0 B, 100 B, 64 KiB and 1 MiB round-trip.
// Prints one line per case; exits non-zero when any case fails.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

const require = createRequire((process.env.NODE_PATH || 'build/node/node_modules') + '/');
const WebSocket = require('ws');

const BUILD = path.resolve(process.env.WICK_BUILD || 'build');
const SERVER = path.join(BUILD, 'examples', 'echo_server');
const CLIENT = path.join(BUILD, 'examples', 'echo_client');
const SIZES = [0, 100, 64 * 1024, 1 << 20];

function startServer() {
  return new Promise((resolve, reject) => {
    const proc = spawn(SERVER, ['0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    proc.stdout.once('data', (chunk) => {
      const m = /^listening on (\d+)/.exec(chunk.toString());
      if (m) resolve({ proc, port: Number(m[1]) }); else reject(new Error('no port'));
    });
  });
}

function payloads() {
  const out = [];
  for (const n of SIZES) {
    out.push(['text', 'wick deflate \u00e9t\u00e9 '.repeat(n / 10 + 1).slice(0, n)]);
    out.push(['binary', Buffer.alloc(n, 'ab')]);
    out.push(['random', randomBytes(n)]);
  }
  return out;
}

// One ws client with these perMessageDeflate options; every payload echoes.
function clientCase(port, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: { threshold: 0, ...opts } });
    const todo = payloads();
    let cur = null;
    const next = () => {
      if (!todo.length) { ws.close(1000); return; }
      cur = todo.shift();
      ws.send(cur[1], { binary: cur[0] !== 'text' });
    };
    ws.on('open', () => {
      if (!/permessage-deflate/.test(ws.extensions)) { reject(new Error(`not agreed: '${ws.extensions}'`)); ws.terminate(); return; }
      next();
    });
    ws.on('message', (data, isBinary) => {
      const want = cur[0] === 'text' ? Buffer.from(cur[1]) : cur[1];
      if (isBinary !== (cur[0] !== 'text') || !Buffer.from(data).equals(want)) {
        reject(new Error(`echo of ${cur[0]} ${want.length} B differs`)); ws.terminate(); return;
      }
      next();
    });
    const params = () => JSON.stringify((ws._extensions['permessage-deflate'] || {}).params);
    ws.on('close', (code) => (code === 1000 ? resolve(params()) : reject(new Error(`close ${code}`))));
    ws.on('error', reject);
  });
}

// echo_client against a ws server with these options.
async function serverCase(opts, args = []) {
  const agreed = [];
  const wss = new WebSocket.WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0, ...opts } });
  wss.on('connection', (ws) => {
    const pmd = ws._extensions['permessage-deflate'];
    agreed.push(pmd ? `permessage-deflate ${JSON.stringify(pmd.params)}` : ws.extensions);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise((r) => wss.once('listening', r));
  const lines = SIZES.map((n) => 'x'.repeat(n)).join('\n') + '\n';
  const child = spawn(CLIENT, [...args, `ws://127.0.0.1:${wss.address().port}/`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  child.stdin.end(lines);
  const code = await new Promise((r) => child.on('exit', r));
  wss.close();
  if (code !== 0) throw new Error(`echo_client exited ${code}: ${err}`);
  if (out !== lines) throw new Error(`echo differs (${out.length} B, want ${lines.length})`);
  if (agreed.length !== 1 || !/permessage-deflate/.test(agreed[0])) throw new Error(`not agreed: ${agreed}`);
  return agreed[0];
}

const CLIENT_OPTS = [
  {},
  { clientMaxWindowBits: true },
  { clientMaxWindowBits: 10 },
  { serverMaxWindowBits: 8 },
  { serverMaxWindowBits: 12, clientMaxWindowBits: 9 },
  { serverNoContextTakeover: true },
  { clientNoContextTakeover: true },
  { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
];
const SERVER_OPTS = [
  [{}, []],
  [{ serverMaxWindowBits: 9, clientMaxWindowBits: 9 }, []],
  [{ serverNoContextTakeover: true, clientNoContextTakeover: true }, []],
  [{}, ['--deflate-no-context-takeover', '--deflate-peer-no-context-takeover']],
];

async function main() {
  let bad = 0;
  const report = (ok, name, info) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(64)} ${info}`); if (!ok) bad++; };
  const { proc, port } = await startServer();
  for (const o of CLIENT_OPTS) {
    const name = `echo_server vs ws ${JSON.stringify(o)}`;
    try { report(true, name, await clientCase(port, o)); } catch (e) { report(false, name, e.message); }
  }
  proc.kill('SIGTERM');
  for (const [o, args] of SERVER_OPTS) {
    const name = `echo_client ${args.join(' ')} vs ws server ${JSON.stringify(o)}`;
    try { report(true, name, await serverCase(o, args)); } catch (e) { report(false, name, e.message); }
  }
  console.log(`permessage-deflate vs node ws: ${bad ? `${bad} failed` : 'all passed'}`);
  process.exit(bad ? 1 : 0);
}

main();
