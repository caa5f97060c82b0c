// Browser test of the chat page: Debian's headless Chromium, driven by
// playwright-core (no browser download), opens two pages on a fresh
// chat_server, both join a room, exchange a room message and a private
// message, see the typing indicator; a server restart shows the
// reconnect state and both pages come back. Screenshots go to
// BUILD/chat-browser-*.png. Then the page over https/wss, with a
// certificate made here by the openssl CLI and trusted through Chromium's
// --ignore-certificate-errors-spki-list (that key only).
//
// Usage: node tests/chat/test_browser.mjs BUILD_DIR   (NODE_PATH must hold playwright-core)
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const build = path.resolve(root, process.argv[2] || 'build');
const server = path.join(build, 'examples', 'chat_server');

function startServer(port = 0, extra = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(server, ['--port', String(port), '--public', path.join(root, 'examples/chat/public'),
      '--ping-interval', '2', ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', (line) => {
      const m = /^listening on (\d+)$/.exec(line);
      if (m) resolve({ proc, port: Number(m[1]) }); else reject(new Error('bad first line: ' + line));
    });
    proc.once('exit', (code) => reject(new Error('server exited ' + code)));
  });
}

function stopServer(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) { resolve(s.proc.exitCode); return; }
    s.proc.once('exit', (code) => resolve(code));
    s.proc.kill('SIGTERM');
  });
}

let passed = 0, failed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log('ok   ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL ' + name + ': ' + (e && e.stack || e));
  }
}
function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }

const profile = mkdtempSync(path.join(tmpdir(), 'wick-chat-chromium-'));
// The test's certificate, and the base64 SHA-256 of its public key (SPKI).
const certFile = path.join(profile, 'cert.pem'), keyFile = path.join(profile, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
  '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
const spki = execFileSync('sh', ['-c', 'openssl x509 -in "$1" -pubkey -noout | ' +
  'openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64', 'sh', certFile])
  .toString().trim();
let srv = await startServer();
// playwright takes the fresh profile directory as launchPersistentContext's
// first argument (it refuses a --user-data-dir in args).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--ignore-certificate-errors-spki-list=' + spki],
  viewport: { width: 1000, height: 640 },
});
const url = `http://127.0.0.1:${srv.port}/`;
// Two pages: two people. (They share localStorage, which only remembers a
// default name; each page fills in its own.)
const alice = await context.newPage();
const bob = await context.newPage();
const consoleErrors = [];
for (const p of [alice, bob]) {
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
}

async function login(page, name, room) {
  await page.goto(url);
  await page.waitForSelector('#state.online', { timeout: 5000 });
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#login-form button');
  await page.waitForSelector('#chat:not([hidden])', { timeout: 5000 });
}

await step('both pages join a room and see each other', async () => {
  await login(alice, 'alice', 'lobby');
  await login(bob, 'bob', 'lobby');
  await alice.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, { timeout: 5000 });
  const names = await bob.$$eval('#members li', (els) => els.map((e) => e.textContent));
  assert(names.includes('alice') && names.includes('bob (you)'), 'members: ' + names);
  assert((await alice.textContent('#room-title')) === '#lobby', 'room title');
});

await step('permessage-deflate negotiated (ws.extensions, shown in the status line)', async () => {
  const ext = await alice.evaluate(() => app.ws.extensions);
  assert(/^permessage-deflate/.test(ext), 'extensions: ' + ext);
  assert(/compressed/.test(await alice.textContent('#state')), 'status line');
});

await step('typing indicator', async () => {
  await bob.type('#text', 'Hi al', { delay: 20 });
  await alice.waitForFunction(() => document.getElementById('typing').textContent.includes('bob is typing'), null, { timeout: 5000 });
});

await step('room message reaches the other page', async () => {
  await bob.fill('#text', 'Hi alice! Lunch at noon?');
  await bob.press('#text', 'Enter');
  await alice.waitForFunction(() => [...document.querySelectorAll('.msg .body')].some((e) => e.textContent === 'Hi alice! Lunch at noon?'), null, { timeout: 5000 });
  const who = await alice.$eval('.msg:last-child .who', (e) => e.firstChild.textContent);
  assert(who === 'bob', 'sender shown as ' + who);
  // alice's page sent a read receipt; bob's last message says so.
  await bob.waitForFunction(() => document.querySelector('.msg.mine:last-child .seen').textContent.includes('alice'), null, { timeout: 5000 });
});

await step('private message', async () => {
  await alice.click('#members li:not(.self)');
  assert(await alice.isVisible('#pm-target'), 'private target shown');
  await alice.fill('#text', 'Sure - just between us, 12:15?');
  await alice.press('#text', 'Enter');
  // Its own conversation (test_page.mjs): bob opens it from the sidebar.
  await bob.waitForSelector('#dms li', { timeout: 5000 });
  await bob.click('#dms li');
  await bob.waitForSelector('.msg.private', { timeout: 5000 });
  const text = await bob.textContent('.msg.private .body');
  assert(text === 'Sure - just between us, 12:15?', 'private text: ' + text);
  const who = await bob.textContent('.msg.private .who');
  assert(who.startsWith('alice (private)'), 'private sender: ' + who);
  await alice.click('#pm-target');
  await bob.click('#rooms li');
  await alice.fill('#text', 'See you all there');
  await alice.press('#text', 'Enter');
  await bob.waitForFunction(() => [...document.querySelectorAll('.msg .body')].some((e) => e.textContent === 'See you all there'), null, { timeout: 5000 });
  await alice.screenshot({ path: path.join(build, 'chat-browser-alice.png') });
  await bob.screenshot({ path: path.join(build, 'chat-browser-bob.png') });
});

await step('server restart: connection state shown, pages reconnect and rejoin', async () => {
  const port = srv.port;
  assert((await stopServer(srv)) === 0, 'server exit status');
  await alice.waitForSelector('#state.reconnecting', { timeout: 5000 });
  const state = await alice.textContent('#state');
  assert(/retrying in/.test(state), 'state text: ' + state);
  await alice.screenshot({ path: path.join(build, 'chat-browser-offline.png') });
  srv = await startServer(port);
  await alice.waitForSelector('#state.online', { timeout: 20000 });
  await bob.waitForSelector('#state.online', { timeout: 20000 });
  await alice.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, { timeout: 20000 });
  await bob.fill('#text', 'back again');
  await bob.press('#text', 'Enter');
  await alice.waitForFunction(() => [...document.querySelectorAll('.msg .body')].some((e) => e.textContent === 'back again'), null, { timeout: 5000 });
});

await step('auth mode: a bad token is refused, a good one signs in', async () => {
  const secret = path.join(profile, 'secret');
  writeFileSync(secret, 'browser test secret, 0123456789\n');
  const asrv = await startServer(0, ['--auth-secret', secret]);
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(`http://127.0.0.1:${asrv.port}/`);
    await page.waitForSelector('#token-row:not([hidden])', { timeout: 5000 });
    assert(await page.isHidden('#name-row'), 'no name field in auth mode');
    await page.fill('#token', 'carol.9999999999.' + '0'.repeat(64));
    await page.fill('#room', 'secure');
    await page.click('#login-form button');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.includes('Invalid token'), null, { timeout: 5000 });
    const token = execFileSync(server, ['token', 'carol', '--auth-secret', secret]).toString().trim();
    await page.fill('#token', token);
    await page.click('#login-form button');
    await page.waitForSelector('#chat:not([hidden])', { timeout: 5000 });
    const me = await page.textContent('#me');
    assert(me === 'signed in as carol', 'header: ' + me);
    assert((await page.textContent('#room-title')) === '#secure', 'room title');
    await page.close();
  } finally {
    await stopServer(asrv);
  }
});

await step('https page over wss (the test certificate)', async () => {
  const tsrv = await startServer(0, ['--tls-cert', certFile, '--tls-key', keyFile]);
  try {
    const pages = [await context.newPage(), await context.newPage()];
    for (const [i, page] of pages.entries()) {
      page.on('pageerror', (e) => consoleErrors.push(String(e)));
      await page.goto(`https://localhost:${tsrv.port}/`);
      await page.waitForSelector('#state.online', { timeout: 5000 });
      await page.fill('#name', i ? 'dave' : 'erin');
      await page.fill('#room', 'secure');
      await page.click('#login-form button');
      await page.waitForSelector('#chat:not([hidden])', { timeout: 5000 });
    }
    const wsUrl = await pages[0].evaluate(() => app.ws.url);
    assert(wsUrl.startsWith('wss://localhost:'), 'ws url: ' + wsUrl);
    const ext = await pages[0].evaluate(() => app.ws.extensions);
    assert(/^permessage-deflate/.test(ext), 'extensions: ' + ext);
    await pages[1].fill('#text', 'over TLS');
    await pages[1].press('#text', 'Enter');
    await pages[0].waitForFunction(() => [...document.querySelectorAll('.msg .body')].some((e) => e.textContent === 'over TLS'), null, { timeout: 5000 });
    await pages[0].screenshot({ path: path.join(build, 'chat-browser-https.png') });
    for (const page of pages) await page.close();
  } finally {
    assert((await stopServer(tsrv)) === 0, 'https server exit status');
  }
});

await step('no page errors', async () => {
  assert(consoleErrors.length === 0, consoleErrors.join('\n'));
});

await context.close();
await stopServer(srv);
rmSync(profile, { recursive: true, force: true });
console.log(`chat-browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
