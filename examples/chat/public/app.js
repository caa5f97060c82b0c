// wick chat: the browser client. No framework. Talks the JSON protocol in
// docs/chat.md over one WebSocket to /chat, reconnects with exponential
// backoff and full jitter after a drop, takes its old session over (the
// resume token kept in sessionStorage) and re-joins its rooms. Private
// messages have their own conversations; sent messages show pending,
// delivered (the server's ack) or failed (its error).
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const app = {
  ws: null,
  id: null,             // our client id on the current connection
  name: localStorage.getItem('chat.name') || '',
  token: params.get('token') || localStorage.getItem('chat.token') || '',
  authRequired: false,
  waitingForToken: false, // auth mode: hung up until a token is entered
  rooms: new Map(),     // name -> {members: Map(id -> name), log: [], unread: 0}
  wanted: [],           // rooms to (re)join, in order
  current: null,        // the room on screen
  dms: new Map(),       // peer name -> {peer: {id, name}, log: [], unread: 0}
  dm: null,             // the private conversation on screen (a peer name), or null
  pending: new Map(),   // our message id -> entry, until the server's ack or error
  bySid: new Map(),     // server id of a message we sent -> entry (for receipts)
  reads: new Map(),     // room -> {want, sent, last, timer}: coalesced receipts
  attempt: 0,           // reconnect attempt, for the backoff
  timer: null,
  seq: 0,
  typingSent: 0,
  typingStop: null,
  typers: new Map(),    // "room/id" -> {name, until}
  lastSid: new Map(),   // room -> newest server message id seen there (number),
                        // sent as join's "since" so a rejoin replays only what we missed
};
const READ_EVERY_MS = 3000; // at most one read receipt per room per 3 s

function msgId() { app.seq += 1; return 'b' + Date.now().toString(36) + '-' + app.seq; }

function send(type, fields) {
  if (!app.ws || app.ws.readyState !== WebSocket.OPEN) return null;
  const m = Object.assign({ id: msgId(), type, timestamp: Date.now() }, fields);
  if (!m.payload) m.payload = {};
  app.ws.send(JSON.stringify(m));
  return m;
}

// --- Connection state and reconnect ------------------------------------------

function setState(cls, text) {
  const el = $('state');
  el.className = 'state ' + cls;
  el.textContent = text;
}

function connect() {
  clearTimeout(app.timer);
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = app.token ? '?token=' + encodeURIComponent(app.token) : '';
  setState('connecting', app.attempt ? 'reconnecting…' : 'connecting…');
  const ws = new WebSocket(proto + '//' + location.host + '/chat' + q);
  app.ws = ws;
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    handle(m);
  };
  ws.onclose = (ev) => {
    if (app.ws !== ws) return;
    app.ws = null;
    app.id = null;
    failPending('not sent: connection lost');
    if (app.waitingForToken) return;
    if (ev.code === 4001) {
      // Another tab (or a reload) took this session over: do not fight it.
      setState('offline', 'open in another tab');
      return;
    }
    if (ev.code === 1008 && /token|Authentication/i.test(ev.reason)) {
      // A bad token will not get better by retrying.
      app.token = '';
      localStorage.removeItem('chat.token');
      app.authRequired = true;
      app.waitingForToken = true;
      app.rooms.clear();
      showLogin('Sign-in failed: ' + ev.reason);
      setState('offline', 'sign in to connect');
      app.attempt = 0;
      return;
    }
    scheduleReconnect(ev.code);
  };
}

// Full jitter: a random delay in [0, min(cap, base * 2^attempt)].
function scheduleReconnect(code) {
  const base = 500, cap = 15000;
  const delay = Math.floor(Math.random() * Math.min(cap, base * 2 ** app.attempt));
  app.attempt += 1;
  let left = Math.ceil(delay / 1000);
  const tick = () => {
    setState('reconnecting', 'offline' + (code ? ' (' + code + ')' : '') + ', retrying in ' + left + ' s');
    left -= 1;
  };
  tick();
  const iv = setInterval(tick, 1000);
  app.timer = setTimeout(() => { clearInterval(iv); connect(); }, delay);
}

// --- Incoming ------------------------------------------------------------------

function handle(m) {
  const p = m.payload || {};
  switch (m.type) {
    case 'connected':
      app.id = p.id;
      app.attempt = 0;
      app.authRequired = !!p.auth_required;
      // ws.extensions is what the server agreed: permessage-deflate when
      // messages are compressed (a title keeps the parameters at hand).
      setState('online', /permessage-deflate/.test(app.ws.extensions) ? 'online · compressed' : 'online');
      $('state').title = app.ws.extensions || 'no compression';
      if (p.user) { app.name = p.user; }
      if (app.authRequired && !app.token) {
        // Auth mode and no token yet: the server would drop an idle
        // unauthenticated connection, so hang up until one is entered.
        app.waitingForToken = true;
        app.ws.close(1000);
        setState('offline', 'sign in to connect');
        showLogin('');
        break;
      }
      // Take over the session this tab had before a drop (if the server
      // still holds it, e.g. after a network loss), then keep the new token.
      app.prevResume = sessionStorage.getItem('chat.resume') || '';
      if (p.resume) sessionStorage.setItem('chat.resume', p.resume);
      if (app.authRequired) {
        send('auth', { payload: { token: app.token } });
      } else {
        resume();
        rejoin();
      }
      if (!app.wanted.length) showLogin('');
      break;
    case 'system':
      if (p.event === 'authenticated') {
        app.name = p.user;
        $('me').textContent = 'signed in as ' + app.name;
        if (app.authRequired) { app.authRequired = false; resume(); rejoin(); }
      } else if (p.event === 'joined') {
        joinedRoom(m.room, p);
      } else if (p.event === 'left') {
        app.rooms.delete(m.room);
        if (app.current === m.room) app.current = app.wanted[0] || null;
        render();
      } else if (p.event === 'shutdown') {
        note(app.current, 'The server is restarting…');
      }
      break;
    case 'user_joined': {
      const r = app.rooms.get(m.room);
      if (!r) break;
      r.members.set(p.id, p.name);
      note(m.room, p.name + ' joined');
      renderMembers();
      break;
    }
    case 'user_left': {
      const r = app.rooms.get(m.room);
      if (!r) break;
      r.members.delete(p.id);
      app.typers.delete(m.room + '/' + p.id);
      note(m.room, p.name + (p.reason === 'disconnect' ? ' disconnected' : ' left'));
      renderMembers();
      renderTyping();
      break;
    }
    case 'chat':
      app.typers.delete(m.room + '/' + m.from);
      addMessage(m.room, { who: m.from_name, text: p.text, ts: m.timestamp });
      sawSid(m.room, m.id);
      wantRead(m.room, m.id);
      renderTyping();
      break;
    case 'private': {
      const peer = { id: m.from, name: m.from_name };
      const c = dmConv(peer);
      c.peer = peer; // the newest connection of that user
      addEntry(c, '@' + peer.name, { who: m.from_name, text: p.text, ts: m.timestamp, private: 'from', peer });
      break;
    }
    case 'ack': {
      const e = app.pending.get(p.ref);
      if (e) {
        app.pending.delete(p.ref);
        e.status = 'delivered';
        e.sid = p.msg;
        if (!e.private) sawSid(e.room, p.msg);
        if (p.msg) app.bySid.set(p.msg, e);
        paintStatus(e);
      }
      break;
    }
    case 'typing':
      if (p.typing === false) app.typers.delete(m.room + '/' + m.from);
      else app.typers.set(m.room + '/' + m.from, { name: m.from_name, until: Date.now() + 5000 });
      renderTyping();
      break;
    case 'read': {
      // "read up to" one of our messages: the server tells only the author.
      const e = app.bySid.get(p.up_to);
      if (e) {
        e.seen = e.seen || new Set();
        e.seen.add(m.from_name);
        paintStatus(e);
      }
      break;
    }
    case 'error':
      if (p.ref && app.pending.has(p.ref)) {
        const e = app.pending.get(p.ref);
        app.pending.delete(p.ref);
        e.status = 'failed';
        e.error = p.message;
        paintStatus(e);
        break;
      }
      if (p.code === 'name_taken' && app.rooms.size) {
        // Reconnected before the server noticed our old connection had
        // gone: it is dropped at its next heartbeat, so try again soon.
        note(app.current, 'Waiting for the old session to expire…');
        setTimeout(rejoin, 3000);
      } else if (p.code === 'name_taken' || (p.code === 'invalid_field' && !app.rooms.size)) {
        app.wanted = [];
        showLogin(p.message);
      } else {
        note(app.current, 'Error: ' + p.message);
      }
      break;
    case 'ping':
      send('pong', { payload: p });
      break;
    default:
      break; // pong, offer/answer/ice_candidate: not used by this page
  }
}

function resume() {
  if (app.prevResume) send('resume', { payload: { token: app.prevResume } });
  app.prevResume = '';
}

// --- Read receipts: one per room view, coalesced ----------------------------------
// "read up to message X in room R", for the newest message of somebody else
// in the room on screen, at most every READ_EVERY_MS per room.

function wantRead(room, sid) {
  let r = app.reads.get(room);
  if (!r) { r = { want: null, sent: null, last: 0, timer: null }; app.reads.set(room, r); }
  r.want = sid;
  flushRead(room);
}

function flushRead(room) {
  const r = app.reads.get(room);
  if (!r || !r.want || r.want === r.sent || r.timer) return;
  if (app.dm || app.current !== room || document.visibilityState !== 'visible') return;
  const wait = r.last + READ_EVERY_MS - Date.now();
  if (wait > 0) {
    r.timer = setTimeout(() => { r.timer = null; flushRead(room); }, wait);
    return;
  }
  if (send('read', { room, payload: { up_to: r.want } })) {
    r.sent = r.want;
    r.last = Date.now();
  }
}
document.addEventListener('visibilitychange', () => { if (app.current) flushRead(app.current); });

function failPending(why) {
  for (const e of app.pending.values()) {
    e.status = 'failed';
    e.error = why;
    paintStatus(e);
  }
  app.pending.clear();
}

function rejoin() {
  for (const room of app.wanted) {
    const payload = app.authRequired || app.token ? {} : { name: app.name };
    if (app.lastSid.has(room)) payload.since = 's' + app.lastSid.get(room);
    send('join', { room, payload });
  }
}

function sawSid(room, sid) {
  const n = Number(String(sid || '').slice(1));
  if (room && n > (app.lastSid.get(room) || 0)) app.lastSid.set(room, n);
}

function joinedRoom(room, p) {
  const old = app.rooms.get(room);
  const r = { members: new Map(), log: old ? old.log : [], unread: 0 };
  for (const mem of p.members) r.members.set(mem.id, mem.name);
  app.rooms.set(room, r);
  if (!app.wanted.includes(room)) app.wanted.push(room);
  app.name = p.you.name;
  $('me').textContent = 'signed in as ' + app.name;
  localStorage.setItem('chat.name', app.name);
  if (!app.current || !app.rooms.has(app.current)) app.current = room;
  $('login').hidden = true;
  $('chat').hidden = false;
  note(room, old ? 'Reconnected to #' + room : 'You joined #' + room);
  // The server replays the room's history (or what we missed) right after this.
  if (p.history && !p.history.complete) note(room, 'Some earlier messages are no longer available');
  render();
  $('text').focus();
}

// --- Rendering -------------------------------------------------------------------

function fmtTime(ts) {
  const d = ts ? new Date(ts) : new Date();
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function note(room, text) {
  const r = app.rooms.get(room);
  if (!r) return;
  r.log.push({ sys: text });
  if (room === app.current) appendEntry(r.log[r.log.length - 1]);
}

function dmConv(peer) {
  let c = app.dms.get(peer.name);
  if (!c) {
    c = { peer, log: [], unread: 0 };
    app.dms.set(peer.name, c);
  }
  return c;
}

// The key of the conversation on screen: a room name, or '@' + peer name.
function viewKey() { return app.dm ? '@' + app.dm : app.current; }

function addEntry(conv, key, entry) {
  conv.log.push(entry);
  if (conv.log.length > 500) conv.log.shift();
  if (key === viewKey()) return appendEntry(entry);
  conv.unread += 1;
  renderRooms();
  return null;
}

function addMessage(room, entry) {
  const r = app.rooms.get(room);
  if (!r) return null;
  return addEntry(r, room, entry);
}

// Pending (clock), delivered (check mark, and who has read it), failed.
function paintStatus(e) {
  const li = e.el;
  if (!li || !li.isConnected) return;
  li.classList.toggle('pending', e.status === 'pending');
  li.classList.toggle('failed', e.status === 'failed');
  const st = li.querySelector('.status');
  if (st) {
    st.textContent = e.status === 'pending' ? 'sending…'
      : e.status === 'failed' ? 'not delivered' + (e.error ? ': ' + e.error : '')
      : e.seen && e.seen.size ? '✓ seen by ' + [...e.seen].join(', ') : '✓ delivered';
    st.title = e.status;
  }
}

function appendEntry(e) {
  const list = $('messages');
  const li = document.createElement('li');
  if (e.sys) {
    li.className = 'sys';
    li.textContent = e.sys;
  } else {
    li.className = 'msg' + (e.mine ? ' mine' : '') + (e.private ? ' private' : '');
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = e.private === 'from' ? e.who + ' (private)'
      : e.private === 'to' ? 'private to ' + e.peer.name : e.who;
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = fmtTime(e.ts);
    who.appendChild(when);
    const body = document.createElement('div');
    body.className = 'body';
    body.textContent = e.text;
    li.append(who, body);
    if (e.mine) {
      const st = document.createElement('div');
      st.className = 'status seen';
      li.appendChild(st);
    }
  }
  list.appendChild(li);
  list.scrollTop = list.scrollHeight;
  e.el = li;
  if (e.mine) paintStatus(e);
  return li;
}

function renderRooms() {
  const ul = $('rooms');
  ul.textContent = '';
  for (const [name, r] of app.rooms) {
    const li = document.createElement('li');
    li.textContent = '#' + name;
    if (name === app.current && !app.dm) li.className = 'active';
    if (r.unread) {
      const b = document.createElement('span');
      b.className = 'badge';
      b.textContent = r.unread;
      li.appendChild(b);
    }
    li.onclick = () => { app.current = name; app.dm = null; closeNav(); render(); };
    ul.appendChild(li);
  }
  const dl = $('dms');
  dl.textContent = '';
  $('dms-title').hidden = app.dms.size === 0;
  for (const [name, c] of app.dms) {
    const li = document.createElement('li');
    li.textContent = '@' + name;
    if (name === app.dm) li.className = 'active';
    if (c.unread) {
      const b = document.createElement('span');
      b.className = 'badge';
      b.textContent = c.unread;
      li.appendChild(b);
    }
    li.onclick = () => { closeNav(); setPm(c.peer); };
    dl.appendChild(li);
  }
}

function closeNav() { document.body.classList.remove('nav-open'); }

function renderMembers() {
  const r = app.rooms.get(app.current);
  const ul = $('members');
  ul.textContent = '';
  if (!r) return;
  $('count').textContent = '(' + r.members.size + ')';
  for (const [id, name] of r.members) {
    const li = document.createElement('li');
    li.textContent = name;
    if (id === app.id) {
      li.className = 'self';
      li.textContent = name + ' (you)';
    } else {
      li.title = 'Send ' + name + ' a private message';
      li.onclick = () => setPm({ id, name });
    }
    ul.appendChild(li);
  }
}

function renderTyping() {
  const now = Date.now();
  const names = [];
  for (const [key, t] of app.typers) {
    if (t.until < now) { app.typers.delete(key); continue; }
    if (!app.dm && key.startsWith(app.current + '/')) names.push(t.name);
  }
  $('typing').textContent = names.length === 0 ? ''
    : names.length === 1 ? names[0] + ' is typing…'
    : names.slice(0, 3).join(', ') + ' are typing…';
}
setInterval(renderTyping, 1000);

function render() {
  renderRooms();
  renderMembers();
  const conv = app.dm ? app.dms.get(app.dm) : app.rooms.get(app.current);
  $('room-title').textContent = app.dm ? '@' + app.dm + ' (private)' : app.current ? '#' + app.current : '';
  $('leave').hidden = !!app.dm;
  const list = $('messages');
  list.textContent = '';
  if (conv) {
    conv.unread = 0;
    for (const e of conv.log) appendEntry(e);
  }
  renderRooms();
  renderTyping();
  if (!app.dm && app.current) flushRead(app.current);
  if (!app.rooms.size) showLogin('');
}

// Opens the private conversation with peer (null: back to the room).
function setPm(peer) {
  app.dm = peer ? peer.name : null;
  if (peer) dmConv(peer);
  const el = $('pm-target');
  if (peer) {
    el.textContent = 'private with ' + peer.name + ' ✕';
    el.title = 'Back to #' + app.current;
    el.hidden = false;
    $('text').placeholder = 'Private message to ' + peer.name + '…';
  } else {
    el.hidden = true;
    $('text').placeholder = 'Write a message…';
  }
  render();
  $('text').focus();
}

function showLogin(err) {
  $('chat').hidden = app.rooms.size === 0;
  $('login').hidden = app.rooms.size !== 0;
  $('login-error').textContent = err || '';
  $('name-row').hidden = app.authRequired || !!app.token;
  $('name').required = !$('name-row').hidden;
  $('token-row').hidden = !app.authRequired || !!app.token;
  if (!$('name').value) $('name').value = app.name;
}

// --- User actions -----------------------------------------------------------------

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const room = $('room').value.trim();
  if (!$('name-row').hidden) app.name = $('name').value.trim();
  app.wanted = [room];
  if (!$('token-row').hidden) {
    // Auth mode: connect again with the token in the query string.
    app.token = $('token').value.trim();
    if (!app.token) { $('login-error').textContent = 'A token is required.'; return; }
    localStorage.setItem('chat.token', app.token);
    app.waitingForToken = false;
    app.attempt = 0;
    connect();
    return;
  }
  if (app.ws && app.ws.readyState === WebSocket.OPEN && !app.authRequired) {
    send('join', { room, payload: app.token ? {} : { name: app.name } });
  }
});

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const room = $('join-room').value.trim();
  if (app.rooms.has(room)) { app.current = room; render(); return; }
  app.wanted.push(room);
  send('join', { room });
  $('join-room').value = '';
});

$('leave').addEventListener('click', () => {
  if (!app.current) return;
  app.wanted = app.wanted.filter((r) => r !== app.current);
  send('leave', { room: app.current });
});

$('pm-target').addEventListener('click', () => setPm(null));
$('nav-toggle').addEventListener('click', () => document.body.classList.toggle('nav-open'));

$('send-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('text').value;
  if (!text.trim() || !app.current) return;
  if (app.dm) {
    const c = app.dms.get(app.dm);
    // By name: it reaches the peer's current connection even after a reconnect.
    const to = /^c[0-9]+$/.test(c.peer.name) ? c.peer.id : c.peer.name;
    const m = send('private', { to, payload: { text } });
    if (!m) return;
    const e = { who: app.name, text, ts: Date.now(), mine: true, private: 'to', peer: c.peer, status: 'pending' };
    app.pending.set(m.id, e);
    addEntry(c, '@' + app.dm, e);
  } else {
    const m = send('chat', { room: app.current, payload: { text } });
    if (!m) return;
    const e = { who: app.name, text, ts: Date.now(), mine: true, status: 'pending', room: app.current };
    app.pending.set(m.id, e);
    addMessage(app.current, e);
    if (app.typingSent) send('typing', { room: app.current, payload: { typing: false } });
    app.typingSent = 0;
  }
  $('text').value = '';
});

$('text').addEventListener('input', () => {
  if (app.dm || !app.current) return;
  const now = Date.now();
  if (now - app.typingSent > 2000) {
    send('typing', { room: app.current, payload: { typing: true } });
    app.typingSent = now;
  }
  clearTimeout(app.typingStop);
  app.typingStop = setTimeout(() => {
    if (app.typingSent) send('typing', { room: app.current, payload: { typing: false } });
    app.typingSent = 0;
  }, 3000);
});

window.chatApp = app; // for the browser test and for curious people
connect();
