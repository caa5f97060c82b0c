"""The suite's own cases, not from Autobahn: opening handshake robustness
(H.x) and server robustness (R.x), run against a server (the fuzzing
client's target). Each case is graded OK or FAILED."""

import os
import socket
import time

import engine
import wsproto
from wsproto import OP_TEXT, OP_BINARY, OP_CLOSE

KEY = "dGhlIHNhbXBsZSBub25jZQ=="          # RFC 6455 1.3 sample key


class HCase:
    def __init__(self, cid, desc, expectation, fn):
        self.id, self.desc, self.expectation, self.fn = cid, desc, expectation, fn


H_CASES = []


def hcase(cid, desc, expectation):
    def deco(fn):
        H_CASES.append(HCase(cid, desc, expectation, fn))
        return fn
    return deco


class Fail(Exception):
    pass


def request(host, path="/", method="GET", version="HTTP/1.1", headers=None, drop=(),
            extra=()):
    """A handshake request; headers overrides the defaults by name, drop
    removes names, extra appends raw lines."""
    h = [("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
         ("Sec-WebSocket-Key", KEY), ("Sec-WebSocket-Version", "13")]
    over = dict((k.lower(), v) for k, v in (headers or {}).items())
    lines = ["%s %s %s" % (method, path, version)]
    for name, value in h:
        if name.lower() in drop:
            continue
        lines.append("%s: %s" % (name, over.pop(name.lower(), value)))
    for name, value in over.items():
        lines.append("%s: %s" % (name, value))
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def exchange(target, data, per_byte_delay=None, timeout=5.0):
    """Sends data, returns (status, headers, rest, sock)."""
    s = target.connect()
    if per_byte_delay is not None:
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(per_byte_delay)
    else:
        s.sendall(data)
    head, rest = wsproto.read_http_head(s, timeout=timeout)
    if head is None:
        s.close()
        raise Fail("no HTTP response (got %d bytes: %r)" % (len(rest), rest[:60]))
    start, headers = wsproto.parse_http_head(head)
    try:
        status = int(start[1])
    except (IndexError, ValueError):
        s.close()
        raise Fail("bad status line %r" % " ".join(start))
    return status, headers, rest, s


def expect_status(target, data, allowed, **kw):
    status, headers, rest, s = exchange(target, data, **kw)
    s.close()
    if status not in allowed:
        raise Fail("status %d, expected %s" % (status, "/".join(map(str, allowed))))
    return status, headers


def echo_roundtrip(sock, rest=b"", payload=b"conformance echo", timeout=5.0):
    """Sends one masked text message on an open connection, expects the
    echo, then does the closing handshake."""
    mask = os.urandom(4)
    sock.sendall(wsproto.encode_frame(OP_TEXT, payload, mask=mask))
    parser = wsproto.FrameParser()
    parser.feed(rest)
    sock.settimeout(timeout)
    got = None
    deadline = time.monotonic() + timeout
    while got is None:
        f = parser.next_frame()
        if f is not None:
            if f.opcode == OP_TEXT:
                got = f.payload
                break
            continue
        if time.monotonic() > deadline:
            raise Fail("no echo within %.0f s" % timeout)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            raise Fail("no echo within %.0f s" % timeout)
        if not data:
            raise Fail("connection closed before the echo")
        parser.feed(data)
    if got != payload:
        raise Fail("echo differs: %r" % got[:40])
    sock.sendall(wsproto.encode_frame(OP_CLOSE, (1000).to_bytes(2, "big"), mask=os.urandom(4)))
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


def upgrade_and_echo(target, data, **kw):
    status, headers, rest, s = exchange(target, data, **kw)
    if status != 101:
        s.close()
        raise Fail("status %d, expected 101" % status)
    if headers.get("sec-websocket-accept", [""])[0] != wsproto.accept_key(KEY):
        s.close()
        raise Fail("wrong Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))
    echo_roundtrip(s, rest)


def server_works(target):
    """A fresh connection can still upgrade and echo."""
    upgrade_and_echo(target, request(hostport(target)))


def hostport(t):
    return "%s:%d" % (t.host, t.port)


# --- H.1: valid requests, however they arrive -------------------------------

@hcase("H.1.1", "Valid upgrade request in one write.", "101 with the right accept; echo works.")
def h1_1(t):
    upgrade_and_echo(t, request(hostport(t)))


@hcase("H.1.2", "Valid upgrade request sent one byte at a time (1 ms apart).",
       "101 with the right accept; echo works.")
def h1_2(t):
    upgrade_and_echo(t, request(hostport(t)), per_byte_delay=0.001)


@hcase("H.1.3", "Upgrade request and the first frame in the same write (pipelined).",
       "101, then the echo of the pipelined frame.")
def h1_3(t):
    mask = os.urandom(4)
    data = request(hostport(t)) + wsproto.encode_frame(OP_TEXT, b"pipelined", mask=mask)
    status, headers, rest, s = exchange(t, data)
    if status != 101:
        s.close()
        raise Fail("status %d" % status)
    parser = wsproto.FrameParser()
    parser.feed(rest)
    s.settimeout(5)
    while True:
        f = parser.next_frame()
        if f is not None:
            break
        d = s.recv(65536)
        if not d:
            raise Fail("closed before the echo")
        parser.feed(d)
    s.close()
    if f.opcode != OP_TEXT or f.payload != b"pipelined":
        raise Fail("unexpected first frame %r" % f)


@hcase("H.1.4", "Connection: keep-alive, Upgrade and Upgrade: WebSocket (mixed case), extra "
       "headers, Origin.", "101; echo works.")
def h1_4(t):
    upgrade_and_echo(t, request(hostport(t), headers={"Connection": "keep-alive, Upgrade",
                                                      "Upgrade": "WebSocket",
                                                      "Origin": "http://example.com",
                                                      "User-Agent": "conformance"}))


@hcase("H.1.5", "Header block of about 7 KiB (under the 8 KiB limit).", "101; echo works.")
def h1_5(t):
    upgrade_and_echo(t, request(hostport(t), extra=["X-Pad-%d: %s" % (i, "p" * 900)
                                                     for i in range(7)]))


@hcase("H.1.6", "Plain HTTP GET / (no upgrade).", "200 and a page.")
def h1_6(t):
    data = ("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % hostport(t)).encode()
    expect_status(t, data, [200])


# --- H.2: missing or wrong headers -------------------------------------------

def _bad(cid, desc, allowed, **req):
    def fn(t):
        expect_status(t, request(hostport(t), **req), allowed)
    H_CASES.append(HCase(cid, desc, "HTTP %s, no upgrade." % "/".join(map(str, allowed)), fn))


_bad("H.2.1", "Missing Host.", [400], drop=("host",))
_bad("H.2.2", "Missing Upgrade (to /chat).", [400, 404, 426], path="/chat", drop=("upgrade",))
_bad("H.2.3", "Missing Connection.", [400], drop=("connection",))
_bad("H.2.4", "Missing Sec-WebSocket-Key.", [400], drop=("sec-websocket-key",))
_bad("H.2.5", "Missing Sec-WebSocket-Version.", [400, 426], drop=("sec-websocket-version",))
_bad("H.2.6", "Upgrade: h2c (not websocket).", [400], headers={"Upgrade": "h2c"})
_bad("H.2.7", "Connection: keep-alive (no Upgrade token).", [400],
     headers={"Connection": "keep-alive"})
_bad("H.2.8", "Method POST.", [400, 405], method="POST")
_bad("H.2.9", "HTTP/1.0.", [400, 505], version="HTTP/1.0")
_bad("H.2.10", "Two Host headers.", [400], extra=["Host: other.example"])
_bad("H.2.11", "Two Sec-WebSocket-Key headers.", [400],
     extra=["Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA=="])


@hcase("H.2.12", "Garbage instead of an HTTP request.", "HTTP 400 or the connection closed; "
       "the server keeps working.")
def h2_12(t):
    s = t.connect()
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200) + b"\r\n\r\n")
    head, rest = wsproto.read_http_head(s)
    s.close()
    if head is not None:
        start, _ = wsproto.parse_http_head(head)
        if len(start) < 2 or start[1] != "400":
            raise Fail("answer %r" % " ".join(start))
    server_works(t)


# --- H.3: versions other than 13 ---------------------------------------------

def _version(cid, v):
    def fn(t):
        status, headers = expect_status(t, request(hostport(t), headers={
            "Sec-WebSocket-Version": v}), [426])
        if "13" not in [x.strip() for x in ",".join(headers.get("sec-websocket-version", [])).split(",")]:
            raise Fail("426 without Sec-WebSocket-Version: 13 (got %r)" %
                       headers.get("sec-websocket-version"))
    H_CASES.append(HCase(cid, "Sec-WebSocket-Version: %s." % v,
                         "426 Upgrade Required with Sec-WebSocket-Version: 13.", fn))


for _i, _v in enumerate(["8", "12", "14", "0", "13x"], 1):
    _version("H.3.%d" % _i, _v)


# --- H.4: bad keys -------------------------------------------------------------

for _i, (_k, _what) in enumerate([
        ("AQIDBAUGBwgJCgsMDQ4P", "15 bytes"),
        ("AQIDBAUGBwgJCgsMDQ4PEBE=", "17 bytes"),
        ("!!!!!!!!!!!!!!!!!!!!!!==", "not base64"),
        ("", "empty"),
        ("AQIDBAUGBwgJCgsMDQ4PEA", "unpadded")], 1):
    _bad("H.4.%d" % _i, "Sec-WebSocket-Key %s (%r)." % (_what, _k), [400],
         headers={"Sec-WebSocket-Key": _k})


# --- H.5: size limits ------------------------------------------------------------

@hcase("H.5.1", "Header block over 8 KiB (12 KiB of headers).",
       "431 or 400, connection closed; the server keeps working.")
def h5_1(t):
    data = request(hostport(t), extra=["X-Pad-%d: %s" % (i, "p" * 1000) for i in range(12)])
    s = t.connect()
    try:
        s.sendall(data)
    except OSError:
        pass  # the server may close while we are still sending
    s.settimeout(5)
    got, why = b"", "closed"
    try:
        while b"\r\n\r\n" not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except OSError as e:
        why = "error %s" % e
    s.close()
    if b"\r\n\r\n" not in got:
        raise Fail("no HTTP answer: after %d request bytes the connection was %s with %d "
                   "response bytes (%r)" % (len(data), why, len(got), got[:40]))
    start, _ = wsproto.parse_http_head(got[:got.index(b"\r\n\r\n") + 4])
    if len(start) < 2 or start[1] not in ("431", "400"):
        raise Fail("status %s" % " ".join(start))
    server_works(t)


@hcase("H.5.2", "One endless header line (no CRLF) of 64 KiB.",
       "431 or 400 (or the connection closed); the server keeps working.")
def h5_2(t):
    s = t.connect()
    try:
        s.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 65536)
    except OSError:
        pass
    head, rest = wsproto.read_http_head(s, timeout=3)
    s.close()
    if head is not None:
        start, _ = wsproto.parse_http_head(head)
        if len(start) < 2 or start[1] not in ("431", "400"):
            raise Fail("status %s" % " ".join(start))
    server_works(t)


# --- R: robustness -----------------------------------------------------------------

@hcase("R.1", "A thousand connections opened and closed in a row (alternating: closed at "
       "once, closed after the handshake without a close frame, closed after a close "
       "handshake).", "The server keeps working.")
def r1(t):
    for i in range(1000):
        s = t.connect()
        if i % 3 == 1 or i % 3 == 2:
            s.sendall(request(hostport(t)))
            head, rest = wsproto.read_http_head(s)
            if head is None:
                s.close()
                raise Fail("connection %d: no handshake answer" % i)
            if i % 3 == 2:
                s.sendall(wsproto.encode_frame(OP_CLOSE, (1000).to_bytes(2, "big"),
                                               mask=os.urandom(4)))
                s.settimeout(5)
                try:
                    while s.recv(4096):
                        pass
                except OSError:
                    pass
        s.close()
        if not t.alive():
            raise Fail("server died at connection %d" % i)
    server_works(t)


@hcase("R.2", "Backpressure: a peer sends 1 MiB binary messages (up to 64 MiB, until the "
       "server stops reading) and never reads the echo; meanwhile another peer connects and "
       "echoes.",
       "The server stays alive and serves the other peer.")
def r2(t):
    slow = t.connect()
    slow.sendall(request(hostport(t)))
    head, rest = wsproto.read_http_head(slow)
    if head is None:
        raise Fail("no handshake answer")
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.settimeout(0.2)
    msg = wsproto.encode_frame(OP_BINARY, b"\xab" * (1 << 20), mask=os.urandom(4))
    sent = 0
    deadline = time.monotonic() + 20
    while sent < 64 and time.monotonic() < deadline:
        try:
            slow.sendall(msg)
            sent += 1
        except socket.timeout:
            break   # the server stopped reading from us: that's backpressure
    try:
        server_works(t)
        if not t.alive():
            raise Fail("server died")
        t.note = "sent %d MiB before the server stopped reading" % sent
    finally:
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        slow.close()   # reset
    time.sleep(0.1)
    server_works(t)


@hcase("R.3", "A peer stops in the middle of a frame (header of a 1000-byte frame and 10 "
       "bytes) and stays connected; another peer connects and echoes.",
       "The server keeps serving the other peer.")
def r3(t):
    stuck = t.connect()
    stuck.sendall(request(hostport(t)))
    head, rest = wsproto.read_http_head(stuck)
    if head is None:
        raise Fail("no handshake answer")
    frame = wsproto.encode_frame(OP_TEXT, b"x" * 1000, mask=os.urandom(4))
    stuck.sendall(frame[:18])
    stuck2 = t.connect()
    stuck2.sendall(request(hostport(t))[:30])     # and one stuck in its handshake
    try:
        time.sleep(0.2)
        server_works(t)
        server_works(t)
    finally:
        stuck.close()
        stuck2.close()
    time.sleep(0.1)
    if not t.alive():
        raise Fail("server died")
    server_works(t)


def run_all(target, agent, include=None, exclude=None):
    results = []
    for hc in H_CASES:
        if include and not _match(hc.id, include):
            continue
        if exclude and _match(hc.id, exclude):
            continue
        t0 = time.monotonic()
        ok, detail = True, "ok"
        target.note = None
        try:
            hc.fn(target)
            if target.note:
                detail = target.note
        except Fail as e:
            ok, detail = False, str(e)
        except OSError as e:
            ok, detail = False, "socket error: %s" % e
        if not target.alive():
            status = target.restart()
            ok, detail = False, "the server process died (status %s): %s" % (
                status, detail)
        grade = engine.OK if ok else engine.FAILED
        results.append({
            "id": hc.id, "role": "server", "agent": agent, "description": hc.desc,
            "expectation": hc.expectation, "behavior": grade, "behaviorClose": grade,
            "result": detail, "resultClose": detail, "overall": grade,
            "remoteCloseCode": None, "closedByMe": False, "droppedByMe": False,
            "wasClean": ok, "peerViolation": None,
            "duration": int(1000 * (time.monotonic() - t0)), "reportTime": False,
            "received": [], "wirelog": []})
        if not ok:
            print("  FAILED %s: %s" % (hc.id, detail))
    return results


def _match(cid, pats):
    import fnmatch
    return any(fnmatch.fnmatchcase(cid, p.strip()) or cid == p.strip() or
               cid.startswith(p.strip().rstrip("*").rstrip(".") + ".")
               for p in pats.split(","))
