#!/usr/bin/python3
"""End-to-end tests of examples/chat (chat_server) with a client nobody
here wrote: Python `websockets` 10.4 (Debian python3-websockets), plus raw
sockets where a misbehaving peer is needed (one that never answers pings,
never reads, or never finishes its request).

Every test starts its own server on 127.0.0.1 port 0 with the flags it
needs and stops it with SIGTERM. Usage: test_chat.py [BUILD_DIR] [-k NAME]
"""
import asyncio
import base64
import json
import os
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import websockets

import chatlib
from chatlib import PUBLIC, ROOT, T, Server, close_code, nothing, send

chatlib.BUILD = os.environ.get("WICK_BUILD", "build")
SAN_BUILD = os.environ.get("WICK_SAN_BUILD", "build/test-san")
SERVER = chatlib.server_path()  # again in main(), from the command line


async def recv(ws, want=None, timeout=T):
    """chatlib.recv (acks skipped), and every message has the common fields."""
    m = await chatlib.recv_next(ws, want, timeout)
    for k in ("id", "type", "payload", "timestamp"):
        assert k in m, "message without %s: %r" % (k, m)
    assert isinstance(m["payload"], dict) and isinstance(m["timestamp"], int)
    return chatlib.check_type(m, want)


async def error(ws, code):
    m = await recv(ws, "error")
    assert m["payload"]["code"] == code, "want error %s, got %r" % (code, m)
    assert isinstance(m["payload"]["message"], str)
    return m


async def closed_with(ws, code, reason=None, timeout=T):
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed:
        pass
    assert ws.close_code == code, "close code %s (%r), want %s" % (ws.close_code, ws.close_reason, code)
    if reason is not None:
        assert ws.close_reason == reason, "close reason %r" % ws.close_reason


async def connect(srv, path="/chat", **kw):
    # max_queue=None: a test that reads only some clients must not stall the
    # others' closing handshakes behind websockets' 32-message queue.
    kw.setdefault("max_queue", None)
    ws = await websockets.connect(srv.url(path), **kw)
    m = await recv(ws, "connected")
    return ws, m["payload"]["id"]


async def joined(srv, room, name, path="/chat"):
    ws, cid = await connect(srv, path)
    await send(ws, "join", room=room, payload={"name": name})
    m = await recv(ws, "system")
    assert m["payload"]["event"] == "joined" and m["room"] == room
    return ws, cid, m


def http_get(srv, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (srv.port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=T) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def raw_upgrade(port, path="/chat", rcvbuf=None):
    """A hand-made client: opening handshake over a plain socket."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, "closed during handshake"
        buf += chunk
    assert buf.startswith(b"HTTP/1.1 101"), buf[:40]
    return s


def masked_text(text):
    data = text.encode()
    mask = os.urandom(4)
    hdr = bytes([0x81])
    if len(data) < 126:
        hdr += bytes([0x80 | len(data)])
    elif len(data) < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", len(data))
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", len(data))
    return hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def wait_eof(s, timeout):
    """Reads (and discards) until EOF; returns the seconds it took."""
    s.settimeout(0.2)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if s.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    raise AssertionError("connection not closed within %.1f s" % timeout)


def secret_file():
    f = tempfile.NamedTemporaryFile("w", delete=False, suffix=".secret")
    f.write("correct horse battery staple 0123456789\n")
    f.close()
    return f.name


def make_token(secret, user, ttl=3600):
    out = subprocess.run([SERVER, "token", user, "--auth-secret", secret, "--ttl", str(ttl)],
                         capture_output=True, check=True)
    return out.stdout.decode().strip()


# === Tests ===================================================================

TESTS, test = chatlib.registry()


@test
async def test_help_and_bad_flags():
    out = subprocess.run([SERVER, "--help"], capture_output=True)
    assert out.returncode == 0 and b"--auth-secret" in out.stdout and b"token USER" in out.stdout
    out = subprocess.run([SERVER, "--max-room", "zero"], capture_output=True)
    assert out.returncode == 2 and b"max-room" in out.stderr


@test
async def test_http_routes():
    with Server() as srv:
        st, ct, body = http_get(srv, "/")
        assert st == 200 and ct.startswith("text/html") and b"<html" in body.lower()
        st, ct, body = http_get(srv, "/app.js")
        assert st == 200 and "javascript" in ct
        st, ct, body = http_get(srv, "/style.css")
        assert st == 200 and ct.startswith("text/css")
        for path in ("/missing.html", "/../Makefile", "/%2e%2e/Makefile", "/.hidden", "/a/b"):
            st, _, _ = http_get(srv, path)
            assert st == 404, (path, st)
        st, _, _ = http_get(srv, "/chat")
        assert st == 426
        st, _, _ = http_get(srv, "/", method="POST")
        assert st in (400, 405)
        # A header block over 8 KiB.
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n")
        s.settimeout(T)
        assert s.recv(64).startswith(b"HTTP/1.1 431"), "no 431"
        s.close()
        # A malformed request.
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"NONSENSE\r\n\r\n")
        s.settimeout(T)
        assert s.recv(64).startswith(b"HTTP/1.1 400"), "no 400"
        s.close()
        # An upgrade request to another path is not the endpoint.
        try:
            await websockets.connect(srv.url("/other"))
            raise AssertionError("upgrade to /other accepted")
        except websockets.InvalidStatusCode as e:
            assert e.status_code == 404


@test
async def test_connected_message():
    with Server() as srv:
        ws = await websockets.connect(srv.url())
        m = await recv(ws, "connected")
        assert m["payload"]["id"].startswith("c") and m["to"] == m["payload"]["id"]
        assert m["payload"]["auth_required"] is False
        assert m["payload"]["limits"]["max_room"] == 100
        await ws.close()


@test
async def test_join_chat_leave():
    with Server() as srv:
        a, ida, m = await joined(srv, "lobby", "alice")
        assert [x["name"] for x in m["payload"]["members"]] == ["alice"]
        b, idb, m = await joined(srv, "lobby", "bob")
        assert [x["name"] for x in m["payload"]["members"]] == ["alice", "bob"]
        j = await recv(a, "user_joined")
        assert j["room"] == "lobby" and j["from"] == idb and j["payload"]["name"] == "bob"
        await send(a, "chat", room="lobby", payload={"text": "hello, bob", "extra": [1, 2]})
        c = await recv(b, "chat")
        assert c["from"] == ida and c["from_name"] == "alice" and c["room"] == "lobby"
        assert c["payload"] == {"text": "hello, bob", "extra": [1, 2]}
        await nothing(a)  # the sender does not get its own message
        await send(b, "leave", room="lobby")
        m = await recv(b, "system")
        assert m["payload"]["event"] == "left" and m["room"] == "lobby"
        m = await recv(a, "user_left")
        assert m["from"] == idb and m["payload"]["reason"] == "leave"
        await send(b, "chat", room="lobby", payload={"text": "x"})
        await error(b, "not_in_room")
        await a.close()
        await b.close()


def ext_header(ws):
    """The Sec-WebSocket-Extensions answer (legacy and new client APIs)."""
    h = getattr(ws, "response_headers", None)
    if h is None:
        h = ws.response.headers
    return h.get("Sec-WebSocket-Extensions", "")


@test
async def test_deflate():
    # websockets offers permessage-deflate with client_max_window_bits; the
    # chat is compressed both ways in every mode, and the answer fits each.
    text = "compress me " * 200
    for args, want in (((), "permessage-deflate"),
                       (("--deflate-budget", "16384"), "client_max_window_bits="),
                       (("--deflate-shared",), "server_no_context_takeover"),
                       (("--no-deflate",), None)):
        with Server(*args) as srv:
            a, ida, _ = await joined(srv, "z", "alice")
            b, _, _ = await joined(srv, "z", "bob")
            await recv(a, "user_joined")
            got = ext_header(a)
            assert (want in got) if want else got == "", (args, got)
            for _ in range(3):  # context takeover across messages, or not
                await send(a, "chat", room="z", payload={"text": text})
                m = await recv(b, "chat")
                assert m["payload"]["text"] == text and m["from"] == ida
            await a.close()
            await b.close()
        logs = srv.logs()
        assert ("event=deflate" in logs and "server_max_window_bits=" in logs) if want \
            else "id=c1 off" in logs, logs[-2000:]
        if "--deflate-shared" in args:  # room frames compressed once for all
            assert "shared=1" in logs, logs[-2000:]


@test
async def test_room_removed_when_empty():
    with Server() as srv:
        a, _, _ = await joined(srv, "tmp", "alice")
        await send(a, "leave", room="tmp")
        await recv(a, "system")
        b, _, m = await joined(srv, "tmp", "bob")
        assert [x["name"] for x in m["payload"]["members"]] == ["bob"]
        await a.close()
        await b.close()
    assert "event=room_removed room=tmp" in srv.logs()


@test
async def test_private_by_id_and_name():
    with Server() as srv:
        a, ida, _ = await joined(srv, "r1", "alice")
        b, idb, _ = await joined(srv, "r2", "bob")  # no shared room needed
        c, idc, _ = await joined(srv, "r1", "carol")
        await recv(a, "user_joined")
        await send(a, "private", to=idb, payload={"text": "psst"})
        m = await recv(b, "private")
        assert m["from"] == ida and m["to"] == idb and m["payload"]["text"] == "psst"
        await send(b, "private", to="alice", payload={"text": "hi alice"})
        m = await recv(a, "private")
        assert m["from"] == idb and m["from_name"] == "bob" and m["payload"]["text"] == "hi alice"
        await nothing(c)
        await send(a, "private", to="nobody", payload={"text": "?"})
        await error(a, "no_such_user")
        await send(a, "private", to="c999999", payload={"text": "?"})
        await error(a, "no_such_user")
        await send(a, "private", to=idb, payload={})
        await error(a, "invalid_field")
        for ws in (a, b, c):
            await ws.close()


@test
async def test_typing_and_read():
    with Server() as srv:
        a, ida, _ = await joined(srv, "room", "alice")
        b, _, _ = await joined(srv, "room", "bob")
        await recv(a, "user_joined")
        await send(a, "typing", room="room", payload={"typing": True})
        m = await recv(b, "typing")
        assert m["from"] == ida and m["payload"]["typing"] is True and m["room"] == "room"
        await send(b, "chat", room="room", payload={"text": "hi"})
        sid = (await recv(a, "chat"))["id"]
        await send(a, "read", room="room", payload={"up_to": sid})
        m = await recv(b, "read")  # to the author only (test_abuse.py)
        assert m["from"] == ida and m["payload"]["up_to"] == sid
        await nothing(a)
        await send(a, "typing", room="elsewhere")
        await error(a, "not_in_room")
        await a.close()
        await b.close()


@test
async def test_webrtc_signalling():
    with Server() as srv:
        a, ida, _ = await joined(srv, "call", "alice")
        b, idb, _ = await joined(srv, "call", "bob")
        c, _, _ = await joined(srv, "call", "carol")
        await recv(a, "user_joined")
        await recv(a, "user_joined")
        await recv(b, "user_joined")
        sdp = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
        await send(a, "offer", to=idb, payload=sdp)
        m = await recv(b, "offer")
        assert m["from"] == ida and m["payload"] == sdp
        await send(b, "answer", to=ida, payload={"type": "answer", "sdp": "v=0"})
        m = await recv(a, "answer")
        assert m["from"] == idb and m["payload"]["type"] == "answer"
        cand = {"candidate": "candidate:1 1 UDP 2122252543 127.0.0.1 5000 typ host",
                "sdpMid": "0", "sdpMLineIndex": 0}
        await send(a, "ice_candidate", to="bob", payload=cand)
        m = await recv(b, "ice_candidate")
        assert m["payload"] == cand
        await nothing(c)  # relayed to one peer only
        await send(a, "offer", to="ghost", payload=sdp)
        await error(a, "no_such_user")
        await send(a, "answer", payload=sdp)
        await error(a, "invalid_field")
        for ws in (a, b, c):
            await ws.close()


@test
async def test_app_ping_pong():
    with Server() as srv:
        a, ida = await connect(srv)
        pid = await send(a, "ping", payload={"n": 7})
        m = await recv(a, "pong")
        assert m["payload"] == {"n": 7} and m["to"] == ida and m["id"] != pid
        await send(a, "pong")  # an application pong from the client is accepted silently
        await nothing(a)
        await a.close()


@test
async def test_error_paths():
    with Server() as srv:
        a, _ = await connect(srv)
        await a.send("{not json")
        await error(a, "invalid_json")
        await a.send("[1,2,3]")
        await error(a, "invalid_json")
        await a.send('{"id":"1","id":"2","type":"ping"}')  # duplicate key
        await error(a, "invalid_json")
        await a.send(b"\x01\x02")
        await error(a, "invalid_json")
        await a.send(json.dumps({"id": "x", "type": "teleport"}))
        m = await error(a, "unknown_type")
        assert m["payload"]["ref"] == "x"
        await a.send(json.dumps({"type": "ping"}))
        await error(a, "invalid_field")  # missing id
        await a.send(json.dumps({"id": "y" * 65, "type": "ping"}))
        await error(a, "invalid_field")
        await a.send(json.dumps({"id": 5, "type": "ping"}))
        await error(a, "invalid_field")
        await a.send(json.dumps({"id": "1", "type": 5}))
        await error(a, "invalid_field")
        await send(a, "ping", payload="text")
        await error(a, "invalid_field")
        for room in ("", "a b", "x" * 51, "caf\u00e9", "../etc", 12):
            await send(a, "join", room=room)
            await error(a, "invalid_field")
        await send(a, "join")
        await error(a, "invalid_field")
        await send(a, "join", room="x" * 50, payload={"name": "bad name!"})
        await error(a, "invalid_field")
        await send(a, "join", room="ok", payload={"name": "n" * 51})
        await error(a, "invalid_field")
        await send(a, "leave", room="never")
        await error(a, "not_in_room")
        await send(a, "join", room="dup", payload={"name": "zed"})
        await recv(a, "system")
        await send(a, "join", room="dup")
        await error(a, "already_in_room")
        await send(a, "chat", room="dup", payload={"text": ""})
        await error(a, "invalid_field")
        await send(a, "chat", room="dup", payload={"text": 5})
        await error(a, "invalid_field")
        await send(a, "private", payload={"text": "hi"})
        await error(a, "invalid_field")
        for i in range(15):  # 16 rooms in all with "dup"
            await send(a, "join", room="room%d" % i)
            await recv(a, "system")
        await send(a, "join", room="one-too-many")
        await error(a, "too_many_rooms")
        # Still usable after all that.
        await send(a, "ping")
        await recv(a, "pong")
        await a.close()


@test
async def test_name_taken():
    with Server() as srv:
        a, _, _ = await joined(srv, "r", "alice")
        b, _ = await connect(srv)
        await send(b, "join", room="r", payload={"name": "alice"})
        await error(b, "name_taken")
        await send(b, "auth", payload={"name": "alice"})
        await error(b, "name_taken")
        await send(b, "auth", payload={"name": "c12"})  # looks like a client id
        await error(b, "invalid_field")
        await send(b, "auth", payload={"name": "alicia"})
        m = await recv(b, "system")
        assert m["payload"] == {"event": "authenticated", "user": "alicia"}
        await a.close()
        await b.close()


@test
async def test_room_full():
    with Server("--max-room", "2") as srv:
        a, _, _ = await joined(srv, "small", "a")
        b, _, _ = await joined(srv, "small", "b")
        c, _ = await connect(srv)
        await send(c, "join", room="small", payload={"name": "c"})
        await error(c, "room_full")
        await send(c, "join", room="other", payload={"name": "c"})
        await recv(c, "system")
        await recv(a, "user_joined")
        await b.close()
        await recv(a, "user_left")
        await send(c, "join", room="small")
        m = await recv(c, "system")
        assert len(m["payload"]["members"]) == 2
        await a.close()
        await c.close()


@test
async def test_disconnect_cleanup():
    with Server() as srv:
        a, ida, _ = await joined(srv, "r1", "alice")
        await send(a, "join", room="r2")
        await recv(a, "system")
        b, _, _ = await joined(srv, "r1", "bob")
        await send(b, "join", room="r2")
        await recv(b, "system")
        await recv(a, "user_joined")
        await recv(a, "user_joined")
        # A clean close: bob hears alice left both rooms.
        await a.close()
        rooms = set()
        for _ in range(2):
            m = await recv(b, "user_left")
            assert m["from"] == ida and m["payload"]["reason"] == "disconnect"
            rooms.add(m["room"])
        assert rooms == {"r1", "r2"}
        # An abrupt one: TCP closed without a closing handshake.
        s = raw_upgrade(srv.port)
        s.sendall(masked_text(json.dumps({"id": "1", "type": "join", "room": "r1",
                                          "payload": {"name": "carl"}})))
        m = await recv(b, "user_joined")
        s.close()
        m = await recv(b, "user_left")
        assert m["payload"]["name"] == "carl"
        # The name is free again.
        c, _, _ = await joined(srv, "r3", "alice")
        await b.close()
        await c.close()


@test
async def test_auth_token_query_cookie_message():
    sec = secret_file()
    tok = make_token(sec, "alice")
    assert tok.startswith("alice.") and len(tok.split(".")) == 3
    with Server("--auth-secret", sec) as srv:
        a, _ = await connect(srv, "/chat?x=1&token=" + tok)
        m = await recv_join(a, "room")
        assert m["payload"]["you"]["name"] == "alice"
        b = await websockets.connect(srv.url(), extra_headers={
            "Cookie": "theme=dark; chat_token=" + make_token(sec, "bob")})
        m = await recv(b, "connected")
        assert m["payload"]["auth_required"] is False and m["payload"]["user"] == "bob"
        c = await websockets.connect(srv.url())
        m = await recv(c, "connected")
        assert m["payload"]["auth_required"] is True
        await send(c, "auth", payload={"token": make_token(sec, "carol")})
        m = await recv(c, "system")
        assert m["payload"] == {"event": "authenticated", "user": "carol"}
        await send(c, "private", to="alice", payload={"text": "hi"})
        m = await recv(a, "private")
        assert m["from_name"] == "carol"
        # The name comes from the token, not the client.
        await send(c, "join", room="room", payload={"name": "mallory"})
        await error(c, "invalid_field")
        for ws in (a, b, c):
            await ws.close()
    os.unlink(sec)


async def recv_join(ws, room):
    await send(ws, "join", room=room)
    return await recv(ws, "system")


@test
async def test_auth_failures():
    sec = secret_file()
    good = make_token(sec, "alice")
    other = tempfile.NamedTemporaryFile("w", delete=False)
    other.write("another secret entirely, sixteen+")
    other.close()
    forged = make_token(other.name, "alice")
    expired = make_token(sec, "alice", ttl=0)
    tampered = good.replace("alice.", "alicf.", 1)
    with Server("--auth-secret", sec, "--handshake-timeout", "0.7") as srv:
        for bad in (forged, expired, tampered, "garbage", good[:-1]):
            ws = await websockets.connect(srv.url("/chat?token=" + bad))
            await closed_with(ws, 1008, "Invalid token")
        ws = await websockets.connect(srv.url(), extra_headers={"Cookie": "chat_token=" + forged})
        await closed_with(ws, 1008)
        ws, _ = await connect(srv)
        await send(ws, "auth", payload={"token": expired})
        await closed_with(ws, 1008, "Invalid token")
        ws, _ = await connect(srv)
        await send(ws, "join", room="lobby")
        await closed_with(ws, 1008, "Authentication required")
        ws, _ = await connect(srv)  # says nothing: auth deadline
        await closed_with(ws, 1008, "Authentication timeout")
        # The token subcommand refuses bad names.
        out = subprocess.run([SERVER, "token", "bad name", "--auth-secret", sec],
                             capture_output=True)
        assert out.returncode == 2
    os.unlink(sec)
    os.unlink(other.name)


@test
async def test_rate_limit():
    with Server("--rate-limit", "5", "--rate-window", "30") as srv:
        a, _ = await connect(srv)
        for _ in range(5):
            await send(a, "ping")
            await recv(a, "pong")
        for _ in range(5):  # CHAT_RATE_GRACE errors...
            await send(a, "ping")
            await error(a, "rate_limited")
        await send(a, "ping")  # ...then the connection is closed
        await closed_with(a, 1008, "Rate limit exceeded")
    with Server("--rate-limit", "3", "--rate-window", "1.5") as srv:
        a, _ = await connect(srv)
        for _ in range(3):
            await send(a, "ping")
            await recv(a, "pong")
        await send(a, "ping")
        await error(a, "rate_limited")
        await asyncio.sleep(1.6)  # a new window
        await send(a, "ping")
        await recv(a, "pong")
        await a.close()


@test
async def test_size_limits():
    with Server("--max-message", "4096", "--max-payload", "1000") as srv:
        a, _ = await connect(srv)
        await send(a, "ping", payload={"pad": "x" * 900})
        await recv(a, "pong")
        await send(a, "ping", payload={"pad": "x" * 1100})
        await error(a, "payload_too_large")
        await a.send(json.dumps({"id": "1", "type": "ping", "payload": {"pad": "x" * 5000}}))
        await closed_with(a, 1009)
    # The default limit is 1 MiB.
    with Server() as srv:
        a = await websockets.connect(srv.url(), max_size=None)
        await recv(a, "connected")
        await a.send("x" * (1024 * 1024 + 1))
        await closed_with(a, 1009)


@test
async def test_heartbeat_drop():
    with Server("--ping-interval", "0.4") as srv:
        a, _, _ = await joined(srv, "hb", "alice")  # websockets answers pings itself
        s = raw_upgrade(srv.port)
        s.sendall(masked_text(json.dumps({"id": "1", "type": "join", "room": "hb",
                                          "payload": {"name": "mute"}})))
        await recv(a, "user_joined")
        took = await asyncio.get_running_loop().run_in_executor(None, wait_eof, s, 5.0)
        assert 0.3 < took < 3.0, took  # two intervals, plus slack for a loaded machine
        m = await recv(a, "user_left")
        assert m["payload"]["name"] == "mute"
        await asyncio.sleep(1.0)  # alice answers and stays
        await send(a, "ping")
        await recv(a, "pong")
        await a.close()
    assert "reason=\"ping timeout\"" in srv.logs()


@test
async def test_handshake_timeout():
    with Server("--handshake-timeout", "0.5") as srv:
        s = socket.create_connection(("127.0.0.1", srv.port))
        took = wait_eof(s, 5.0)
        assert took < 2.5, took
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /chat HTTP/1.1\r\nHost: x\r\n")  # never finished
        took = wait_eof(s, 5.0)
        assert took < 2.5, took


@test
async def test_origin_check():
    with Server() as srv:  # default: same origin or none
        ws = await websockets.connect(srv.url(), origin="http://127.0.0.1:%d" % srv.port)
        await recv(ws, "connected")
        await ws.close()
        try:
            await websockets.connect(srv.url(), origin="http://evil.example")
            raise AssertionError("cross-origin upgrade accepted")
        except websockets.InvalidStatusCode as e:
            assert e.status_code == 403
    with Server("--allow-origin", "https://chat.example") as srv:
        ws = await websockets.connect(srv.url(), origin="https://chat.example")
        await recv(ws, "connected")
        await ws.close()
        try:
            await websockets.connect(srv.url(), origin="http://127.0.0.1:%d" % srv.port)
            raise AssertionError("unlisted origin accepted")
        except websockets.InvalidStatusCode as e:
            assert e.status_code == 403


@test
async def test_graceful_shutdown():
    srv = Server()
    srv.__enter__()
    a, _, _ = await joined(srv, "r", "alice")
    b, _ = await connect(srv)
    srv.proc.send_signal(signal.SIGINT)
    m = await recv(a, "system")
    assert m["payload"]["event"] == "shutdown"
    await closed_with(a, 1001, "Server shutting down")
    await closed_with(b, 1001)
    assert srv.proc.wait(timeout=5) == 0


@test
async def test_slow_client_dropped():
    with Server("--max-queue", "8", "--rate-limit", "100000", "--close-timeout", "0.5") as srv:
        a, _, _ = await joined(srv, "flood", "fast")
        s = raw_upgrade(srv.port, rcvbuf=4096)
        s.sendall(masked_text(json.dumps({"id": "1", "type": "join", "room": "flood",
                                          "payload": {"name": "slow"}})))
        await recv(a, "user_joined")
        text = "y" * 12000
        left = None
        for i in range(3000):  # the slow reader never reads
            await send(a, "chat", room="flood", payload={"text": text})
            if i % 50 == 49:
                try:
                    left = await recv(a, "user_left", timeout=0.05)
                    break
                except asyncio.TimeoutError:
                    pass
        if left is None:
            left = await recv(a, "user_left")
        assert left["payload"]["name"] == "slow"
        s.close()
        await a.close()
    assert "event=slow_client" in srv.logs()


def read_close(s, timeout=3.0):
    """Reads server frames until a close frame; returns its code."""
    return close_code(s, timeout=timeout, strict=True)


@test
async def test_protocol_violations():
    with Server() as srv:
        a, _, _ = await joined(srv, "pv", "watcher")
        cases = [
            (b"\x81\x82" + b"\0\0\0\0" + b"\xc3\x28", 1007),  # invalid UTF-8
            (b"\x81\x02hi", 1002),                                 # unmasked client frame
            (b"\x83\x80" + b"\0\0\0\0", 1002),                 # reserved opcode
            (b"\x89\xfe\x00\x80" + b"\0" * 4 + b"x" * 128, 1002),  # ping over 125 bytes
        ]
        for frame, code in cases:
            s = raw_upgrade(srv.port)
            s.sendall(masked_text(json.dumps({"id": "1", "type": "join", "room": "pv",
                                              "payload": {"name": "bad%d" % code}})))
            await recv(a, "user_joined")
            s.sendall(frame)
            got = read_close(s)
            assert got == code, (frame[:4], got, code)
            m = await recv(a, "user_left")
            assert m["payload"]["reason"] == "disconnect"
            s.close()
        await a.close()


@test
async def test_many_clients_broadcast():
    with Server() as srv:
        clients = [await joined(srv, "big", "u%d" % i) for i in range(50)]
        first = clients[0][0]
        for i in range(49):
            await recv(first, "user_joined")
        await send(first, "chat", room="big", payload={"text": "to all"})
        for ws, _, _ in clients[1:]:
            # Each later member saw the joins after its own, then the chat.
            while True:
                m = await recv(ws)
                if m["type"] == "chat":
                    break
                assert m["type"] == "user_joined"
            assert m["payload"]["text"] == "to all"
        await asyncio.gather(*(ws.close() for ws, _, _ in clients))


# --- wss (issue 14): a certificate made here with the openssl CLI ---------

_cert = []


def cert():
    """(cert.pem, key.pem) for localhost and 127.0.0.1, made once."""
    if not _cert:
        d = tempfile.mkdtemp(prefix="wick-chat-tls-")
        c, k = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", k, "-out", c],
                       check=True, capture_output=True)
        _cert.extend([c, k])
    return _cert


def tls_ctx():
    return ssl.create_default_context(cafile=cert()[0])


@test
async def test_wss():
    c, k = cert()
    with Server("--tls-cert", c, "--tls-key", k) as srv:
        url = "wss://localhost:%d/chat" % srv.port
        a = await websockets.connect(url, ssl=tls_ctx(), max_queue=None)
        await recv(a, "connected")
        b = await websockets.connect(url, ssl=tls_ctx(), max_queue=None)
        await recv(b, "connected")
        assert "permessage-deflate" in ext_header(a)
        await send(a, "join", room="tls", payload={"name": "alice"})
        await recv(a, "system")
        await send(b, "join", room="tls", payload={"name": "bob"})
        await recv(b, "system")
        await recv(a, "user_joined")
        big = "s" * 12000  # several TLS records
        await send(b, "chat", room="tls", payload={"text": big})
        m = await recv(a, "chat")
        assert m["payload"]["text"] == big
        # The page over https, with the same headers as over http.
        with urllib.request.urlopen("https://localhost:%d/" % srv.port, timeout=T,
                                    context=tls_ctx()) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
            assert r.headers.get("X-Content-Type-Options") == "nosniff"
        # Plain HTTP on the TLS port: answered 400, never a crash.
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(T)
        assert s.recv(64).startswith(b"HTTP/1.1 400"), "no 400"
        s.close()
        # A client that does not trust the certificate is refused.
        try:
            await websockets.connect(url, ssl=ssl.create_default_context())
            raise AssertionError("untrusted certificate accepted")
        except ssl.SSLCertVerificationError:
            pass
        await a.close()
        await b.close()
    assert "tls=on" in srv.logs()
    for bad in (["--tls-cert", c], ["--tls-cert", c, "--tls-key", "/nonexistent"]):
        r = subprocess.run([SERVER, "--port", "0"] + bad, capture_output=True, timeout=10)
        assert r.returncode != 0 and r.stderr, (bad, r)


@test
async def test_sigterm_under_load_asan():
    """SIGTERM while 300 clients (half over wss) chat in rooms, against an
    ASan+UBSan build: a clean exit, no sanitizer report, clients get 1001."""
    exe = os.path.join(ROOT, SAN_BUILD, "examples", "chat_server")
    if not os.path.exists(exe):
        raise AssertionError("no sanitizer build: %s (run.sh makes it)" % exe)
    c, k = cert()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    plain = subprocess.Popen([exe, "--port", "0", "--public", PUBLIC, "-q", "--rate-limit",
                              "1000000", "--max-per-ip", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env, cwd=ROOT)
    tls = subprocess.Popen([exe, "--port", "0", "--public", PUBLIC, "-q", "--rate-limit",
                            "1000000", "--max-per-ip", "0", "--tls-cert", c, "--tls-key", k, "--deflate-shared"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    ports = [int(p.stdout.readline().split()[2]) for p in (plain, tls)]
    stats = {"chats": 0, "closed_1001": 0}

    async def one(i):
        url = ("wss://localhost:%d/chat" if i % 2 else "ws://127.0.0.1:%d/chat") % ports[i % 2]
        try:
            async with websockets.connect(url, ssl=tls_ctx() if i % 2 else None, open_timeout=30,
                                          compression=None if i % 4 < 2 else "deflate",
                                          max_queue=None) as ws:
                await send(ws, "join", room="r%d" % (i % 10), payload={"name": "u%d" % i})
                while True:
                    await send(ws, "chat", room="r%d" % (i % 10), payload={"text": "x" * (i + 10)})
                    for _ in range(5):
                        await asyncio.wait_for(ws.recv(), 10)
                    stats["chats"] += 1
        except websockets.ConnectionClosed as e:
            if e.rcvd is not None and e.rcvd.code == 1001:
                stats["closed_1001"] += 1
        except (OSError, asyncio.TimeoutError):
            pass

    tasks = [asyncio.create_task(one(i)) for i in range(300)]
    await asyncio.sleep(4)
    for p in (plain, tls):
        p.send_signal(signal.SIGTERM)
    await asyncio.wait(tasks, timeout=15)
    for p in (plain, tls):
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError("chat_server did not exit after SIGTERM")
        err = err.decode(errors="replace")
        assert "Sanitizer" not in err and "runtime error" not in err, err[-3000:]
        assert p.returncode == 0, (p.returncode, err[-1000:])
    assert stats["chats"] > 300 and stats["closed_1001"] > 100, stats


def main():
    global SERVER
    selected = chatlib.parse_args()
    SERVER = chatlib.server_path()
    chatlib.main(TESTS, "chat", selected)


if __name__ == "__main__":
    main()
