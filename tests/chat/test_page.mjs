// Browser test of the page's views (issue 15): private conversations of
// their own, pending/delivered/failed from the server's ack or error,
// coalesced read receipts, and a 375 px phone layout. Debian's headless
// Chromium driven by playwright-core, as in test_browser.mjs. Screenshots:
// BUILD/chat-page-desktop.png, chat-page-phone.png, chat-page-phone-nav.png.
//
// Usage: node tests/chat/test_page.mjs BUILD_DIR   (NODE_PATH must hold playwright-core)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const build = path.resolve(root, process.argv[2] || 'build');
const server = path.join(build, 'examples', 'chat_server');

function startServer(extra = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(server, ['--port', '0', '--public', path.join(root, 'examples/chat/public'),
      '--max-payload', '300', ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] });
    const rl = readline.createInterface({ input: proc.stdout });
    rl.once('line', (line) => {
      const m = /^listening on (\d+)$/.exec(line);
      if (m) resolve({ proc, port: Number(m[1]) }); else reject(new Error('bad first line: ' + line));
    });
    proc.once('exit', (code) => reject(new Error('server exited ' + code)));
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
const T = { timeout: 5000 };

const profile = mkdtempSync(path.join(tmpdir(), 'wick-chat-page-'));
const srv = await startServer();
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1100, height: 680 },
});
const url = `http://127.0.0.1:${srv.port}/`;
const alice = await context.newPage();           // desktop
const bob = await context.newPage();             // a phone
await bob.setViewportSize({ width: 375, height: 740 });
const errors = [];
for (const p of [alice, bob]) p.on('pageerror', (e) => errors.push(String(e)));

async function login(page, name) {
  await page.goto(url);
  await page.waitForSelector('#state.online', T);
  await page.fill('#name', name);
  await page.fill('#room', 'lobby');
  await page.click('#login-form button');
  await page.waitForSelector('#chat:not([hidden])', T);
}
const bodies = (page) => page.$$eval('#messages .msg .body', (els) => els.map((e) => e.textContent));
async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

await step('join; a sent message goes pending -> delivered (ack), then seen by the reader', async () => {
  await login(alice, 'alice');
  await login(bob, 'bob');
  await alice.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, T);
  await say(alice, 'Morning! Standup in 5.');
  await alice.waitForFunction(() => /delivered|seen/.test(document.querySelector('.msg.mine:last-child .status').textContent), null, T);
  await bob.waitForFunction(() => [...document.querySelectorAll('.msg .body')].some((e) => e.textContent === 'Morning! Standup in 5.'), null, T);
  // bob's page looks at #lobby: one coalesced receipt, routed to alice only.
  await alice.waitForFunction(() => document.querySelector('.msg.mine:last-child .status').textContent.includes('seen by bob'), null, T);
});

await step('a message the server refuses shows as failed with its reason', async () => {
  await say(alice, 'x'.repeat(400)); // over --max-payload 300: error with our id
  await alice.waitForSelector('.msg.mine.failed', T);
  const st = await alice.textContent('.msg.mine.failed .status');
  assert(/not delivered: payload/.test(st), 'status: ' + st);
});

await step('a message with no answer yet shows as pending', async () => {
  await alice.evaluate(() => { window.realSend = app.ws.send; app.ws.send = function () {}; });
  await say(alice, 'this one is stuck');
  const st = await alice.textContent('.msg.mine:last-child .status');
  assert(st === 'sending…' && await alice.$('.msg.mine.pending:last-child'), 'status: ' + st);
  await alice.evaluate(() => { app.ws.send = window.realSend; });
});

await step('private messages have their own conversation', async () => {
  await alice.click('#members li:not(.self)');
  await alice.waitForSelector('#room-title:text("@bob (private)")', T);
  await say(alice, 'Can you cover for me at 3?');
  await alice.waitForFunction(() => /delivered/.test(document.querySelector('.msg.mine:last-child .status').textContent), null, T);
  // bob stays in #lobby; the conversation shows up in the drawer, unread.
  await bob.waitForSelector('#dms li .badge', T);
  assert((await bob.textContent('#room-title')) === '#lobby', 'bob view');
  assert(!(await bodies(bob)).includes('Can you cover for me at 3?'), 'private shown in the room');
  await bob.click('#nav-toggle');
  await bob.waitForTimeout(250);
  await bob.screenshot({ path: path.join(build, 'chat-page-phone-nav.png') });
  await bob.click('#dms li');
  assert((await bob.textContent('#room-title')) === '@alice (private)', 'bob in the conversation');
  assert((await bodies(bob)).includes('Can you cover for me at 3?'), 'private text');
  await say(bob, 'Sure, no problem.');
  await alice.waitForFunction(() => [...document.querySelectorAll('.msg .body')].some((e) => e.textContent === 'Sure, no problem.'), null, T);
  await bob.waitForFunction(() => /delivered/.test(document.querySelector('.msg.mine:last-child .status').textContent), null, T);
  // The room does not show them.
  await alice.click('#pm-target');
  assert((await alice.textContent('#room-title')) === '#lobby', 'alice back in the room');
  const lobby = await bodies(alice);
  assert(!lobby.includes('Sure, no problem.') && lobby.includes('Morning! Standup in 5.'), 'lobby: ' + lobby);
  await alice.click('#dms li');
  await alice.screenshot({ path: path.join(build, 'chat-page-desktop.png') });
});

await step('375 px wide: nothing overflows, the composer fits', async () => {
  await bob.click('#pm-target');
  await say(bob, 'Back in the room, with a fairly long line that has to wrap on a narrow phone screen.');
  const m = await bob.evaluate(() => {
    const r = (id) => document.getElementById(id).getBoundingClientRect();
    return { sw: document.documentElement.scrollWidth, text: r('text').right,
      send: document.querySelector('#send-form button').getBoundingClientRect().right,
      aside: r('chat').left, msgs: Math.max(...[...document.querySelectorAll('.msg')].map((e) => e.getBoundingClientRect().right)) };
  });
  assert(m.sw <= 375 && m.send <= 375 && m.text <= 375 && m.msgs <= 375, JSON.stringify(m));
  assert(!(await bob.isVisible('aside')) || (await bob.evaluate(() => document.querySelector('aside').getBoundingClientRect().right <= 0)), 'drawer closed');
  await bob.screenshot({ path: path.join(build, 'chat-page-phone.png') });
});

await step('no page errors', async () => {
  assert(errors.length === 0, errors.join('\n'));
});

await context.close();
await new Promise((resolve) => { srv.proc.once('exit', resolve); srv.proc.kill('SIGTERM'); });
rmSync(profile, { recursive: true, force: true });
console.log(`chat-page: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
