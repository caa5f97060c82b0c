"""Interop: examples/echo_server against Python `websockets` (10.x, asyncio)
and against hand-built frames on a raw socket.

Run by tests/interop/run.sh with WICK_BUILD set to the build directory.
Prints one line per case; exits non-zero when any case fails.
"""
import asyncio
import base64
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

import websockets

import wickproc

BUILD = os.path.abspath(os.environ.get("WICK_BUILD", "build"))
SERVER = os.path.join(BUILD, "examples", "echo_server")
CASE_TIMEOUT = 60


# --- The server process -----------------------------------------------------

def start_server(*args):
    """Starts the server under test on an ephemeral port; returns (process, port)."""
    return wickproc.start_server(SERVER, *args)


stop_server = wickproc.stop_server


# --- Raw socket helpers (RFC 6455 5.2 framing, written out by hand) ---------

def mask_bytes(payload, key):
    """XORs payload with the 4-byte key (RFC 6455 5.3), fast for big payloads."""
    n = len(payload)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def make_frame(opcode, payload, fin=True, mask=True):
    b0 = (0x80 if fin else 0) | opcode
    m = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + mask_bytes(payload, key)


class Raw:
    """A blocking socket with a read buffer."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by the server")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_http(self):
        """Reads one HTTP response head; returns (status, headers, rest)."""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("no HTTP response")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def read_frame(self):
        b0, b1 = self.read_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8))[0]
        assert b1 & 0x80 == 0, "server frames must not be masked"
        return bool(b0 & 0x80), b0 & 0x0F, self.read_exact(n)

    def read_message(self):
        """Reads frames until a whole data message; returns (opcode, data)."""
        fin, op, data = self.read_frame()
        while not fin:
            fin, cont, more = self.read_frame()
            assert cont == 0, "expected a continuation frame, got opcode %d" % cont
            data += more
        return op, data

    def expect_eof(self):
        """Asserts the server closes the TCP connection (FIN, not a reset)."""
        self.sock.settimeout(5)
        assert self.sock.recv(1) == b"", "expected EOF from the server"

    def close(self):
        self.sock.close()


def upgrade_request(key=None, version="13", extra=b""):
    key = key or base64.b64encode(os.urandom(16)).decode()
    return ("GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: %s\r\n\r\n" % (key, version)).encode() + extra


def raw_ws(port, extra=b""):
    """Opens a raw WebSocket: handshake done, `extra` sent with the request."""
    raw = Raw(port)
    raw.sock.sendall(upgrade_request(extra=extra))
    status, headers = raw.read_http()
    assert status == 101, "handshake status %d" % status
    assert headers.get("upgrade", "").lower() == "websocket"
    return raw


def expect_close(raw, want_code):
    """Reads the server's close frame, answers it, and expects EOF."""
    while True:
        fin, op, data = raw.read_frame()
        if op == 0x8:
            break
    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
    assert code == want_code, "close code %d, want %d" % (code, want_code)
    try:
        raw.sock.sendall(make_frame(0x8, data[:2]))
    except OSError:
        pass  # the server may already have closed after a failure
    raw.expect_eof()


# --- Cases with the websockets client ----------------------------------------

def uri(port):
    return "ws://127.0.0.1:%d/echo" % port


class Conn:
    """async with Conn(port) as ws: a websockets client whose closing
    handshake must complete (1000) and promptly."""

    def __init__(self, port, **kwargs):
        self.port = port
        self.kwargs = kwargs

    async def __aenter__(self):
        self.ws = await websockets.connect(uri(self.port), close_timeout=5, **self.kwargs)
        return self.ws

    async def __aexit__(self, exc_type, exc, tb):
        t0 = time.perf_counter()
        await self.ws.close()
        if exc_type is None:
            assert self.ws.close_code == 1000, "close code %r" % self.ws.close_code
            elapsed = time.perf_counter() - t0
            assert elapsed < 3, "closing handshake took %.1f s" % elapsed


async def roundtrip(ws, msg):
    await ws.send(msg)
    got = await asyncio.wait_for(ws.recv(), 20)
    assert type(got) is type(msg), "type %s, want %s" % (type(got), type(msg))
    assert got == msg, "echo differs (len %d, want %d)" % (len(got), len(msg))


async def case_text(port):
    async with Conn(port) as ws:
        await roundtrip(ws, "hello, wick")


async def case_binary(port):
    async with Conn(port) as ws:
        await roundtrip(ws, bytes(range(256)) * 4)


async def case_empty(port):
    async with Conn(port) as ws:
        await roundtrip(ws, "")
        await roundtrip(ws, b"")


async def case_16mib_binary(port):
    data = random.Random(1).randbytes(16 * 1024 * 1024)
    async with Conn(port, max_size=None) as ws:
        t0 = time.perf_counter()
        await roundtrip(ws, data)
        return "%.2f s round trip" % (time.perf_counter() - t0)


async def case_1mib_utf8_text(port):
    unit = "h\u00e9llo w\u00f6rld \u2713 \u6f22\u5b57 \U0001f389 "
    text = unit * (1024 * 1024 // len(unit.encode()))
    async with Conn(port, max_size=None) as ws:
        await roundtrip(ws, text)
        return "%d bytes" % len(text.encode())


async def case_fragmented(port):
    async with Conn(port) as ws:
        await ws.send(["frag", "men", "ted \u00e9"])
        assert await asyncio.wait_for(ws.recv(), 20) == "fragmented \u00e9"
        await ws.send([b"\x00\x01", b"", b"\x02"])
        assert await asyncio.wait_for(ws.recv(), 20) == b"\x00\x01\x02"


async def case_ping(port):
    async with Conn(port) as ws:
        waiter = await ws.ping(b"are you there")
        latency = await asyncio.wait_for(waiter, 5)
        await roundtrip(ws, "after ping")
        return "%.1f ms" % (latency * 1000)


async def case_pipelined(port):
    rng = random.Random(2)
    msgs = []
    for i in range(2000):
        n = rng.randrange(0, 3000)
        msgs.append(rng.randbytes(n) if i % 2 else "m%d-" % i + "x" * n)
    async with Conn(port, max_size=None) as ws:
        async def sender():
            for m in msgs:
                await ws.send(m)

        async def receiver():
            for i, m in enumerate(msgs):
                got = await asyncio.wait_for(ws.recv(), 20)
                assert got == m, "message %d differs" % i

        t0 = time.perf_counter()
        await asyncio.gather(sender(), receiver())
        return "%d messages in %.2f s" % (len(msgs), time.perf_counter() - t0)


async def case_many_clients(port):
    async def one(k):
        async with Conn(port) as ws:
            for i in range(20):
                await roundtrip(ws, "client %d message %d" % (k, i))
    await asyncio.gather(*(one(k) for k in range(50)))
    return "50 clients x 20 messages"


async def case_clean_close(port):
    ws = await websockets.connect(uri(port), close_timeout=5)
    await roundtrip(ws, "bye")
    t0 = time.perf_counter()
    await ws.close(1000, "done")
    elapsed = time.perf_counter() - t0
    assert ws.close_code == 1000, "close code %r" % ws.close_code
    # websockets waits up to close_timeout for the server's TCP close
    # (RFC 6455 7.1.1): a quick return means the server closed first.
    assert elapsed < 2.0, "server did not close TCP (%.1f s)" % elapsed
    return "%.1f ms" % (elapsed * 1000)


# --- Cases with hand-built frames ---------------------------------------------

def raw_close_handshake(port):
    raw = raw_ws(port)
    raw.sock.sendall(make_frame(0x8, struct.pack("!H", 1000) + b"bye"))
    fin, op, data = raw.read_frame()
    assert op == 0x8 and struct.unpack("!H", data[:2])[0] == 1000, (op, data)
    raw.expect_eof()
    raw.close()


def raw_frames_with_request(port):
    # Frames sent in the same segment as the request must not be lost.
    first = make_frame(0x1, b"early") + make_frame(0x2, b"\x01\x02", fin=False)
    raw = raw_ws(port, extra=first + make_frame(0x0, b"\x03"))
    assert raw.read_message() == (0x1, b"early")
    assert raw.read_message() == (0x2, b"\x01\x02\x03")
    raw.close()


def raw_utf8_split(port):
    # A multibyte character split across fragments is valid (RFC 6455 5.6).
    raw = raw_ws(port)
    e = "\u00e9\U0001f389".encode()
    raw.sock.sendall(make_frame(0x1, e[:1], fin=False) + make_frame(0x0, e[1:3], fin=False)
                     + make_frame(0x0, e[3:]))
    assert raw.read_message() == (0x1, e)
    raw.close()


def raw_invalid_utf8(port):
    raw = raw_ws(port)
    raw.sock.sendall(make_frame(0x1, b"abc\xff\xfe"))
    expect_close(raw, 1007)
    raw.close()


def raw_invalid_utf8_fragment(port):
    # Fail fast (RFC 6455 8.1): the bad fragment fails before the message ends.
    raw = raw_ws(port)
    raw.sock.sendall(make_frame(0x1, b"ok", fin=False) + make_frame(0x0, b"\xc0\xaf", fin=False))
    expect_close(raw, 1007)
    raw.close()


def raw_unmasked(port):
    raw = raw_ws(port)
    raw.sock.sendall(make_frame(0x1, b"no mask", mask=False))  # RFC 6455 5.1
    expect_close(raw, 1002)
    raw.close()


def raw_ping_pong(port):
    raw = raw_ws(port)
    raw.sock.sendall(make_frame(0x9, b"raw ping"))
    assert raw.read_frame() == (True, 0xA, b"raw ping")
    raw.close()


def http_get(port, path, request=None):
    raw = Raw(port)
    raw.sock.sendall(request or ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    status, headers = raw.read_http()
    body = raw.read_exact(int(headers.get("content-length", "0")))
    raw.expect_eof()
    raw.close()
    return status, headers, body


def raw_http_pages(port):
    status, headers, body = http_get(port, "/")
    assert status == 200, status
    assert headers["content-type"].startswith("text/html"), headers
    assert b"wick echo server" in body, body
    status, _, _ = http_get(port, "/missing")
    assert status == 404, status
    status, headers, _ = http_get(port, None, upgrade_request(version="12"))
    assert status == 426 and headers.get("sec-websocket-version") == "13", (status, headers)
    status, _, _ = http_get(port, None, upgrade_request(key="short"))
    assert status == 400, status


def raw_trickled_request(port):
    # A request trickling in slowly is still served once complete.
    raw = Raw(port)
    for b in upgrade_request():
        raw.sock.send(bytes([b]))
    status, _ = raw.read_http()
    assert status == 101, status
    raw.close()


def raw_too_big(port):
    # Over the server's 64 MiB message limit: 1009 (RFC 6455 7.4.1), as soon
    # as the length is known.
    raw = raw_ws(port)
    raw.sock.sendall(bytes([0x82, 0xFF]) + struct.pack("!Q", 65 * 1024 * 1024) + os.urandom(4))
    expect_close(raw, 1009)
    raw.close()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raw_bounded_memory(_port):
    # A client that sends 64 MiB of messages without reading the echoes:
    # the server must stop reading (backpressure) instead of buffering it
    # all. A fresh server, so its heap starts small.
    proc, port = start_server()
    try:
        return bounded_memory(port, proc.pid)
    finally:
        stop_server(proc)


def bounded_memory(port, pid):
    raw = raw_ws(port)
    msg = os.urandom(4 * 1024 * 1024)
    frame = make_frame(0x2, msg)
    count = 16
    before = rss_kib(pid)

    def sender():
        for _ in range(count):
            raw.sock.sendall(frame)

    raw.sock.settimeout(30)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    time.sleep(1.5)  # the sender is blocked by now: everything is full
    peak = rss_kib(pid)
    for i in range(count):
        op, data = raw.read_message()
        assert op == 0x2 and data == msg, "echo %d differs" % i
    t.join(10)
    raw.close()
    grown = (peak - before) // 1024
    assert grown < 40, "server grew by %d MiB while the client did not read" % grown
    return "server RSS grew %d MiB for 64 MiB in flight" % grown


def raw_handshake_timeout(_port):
    # A connection that never completes its request is dropped (--timeout).
    proc, port = start_server("--timeout", "1")
    try:
        raw = Raw(port)
        raw.sock.sendall(b"GET / HTTP/1.1\r\n")
        t0 = time.perf_counter()
        raw.expect_eof()
        elapsed = time.perf_counter() - t0
        assert 0.5 < elapsed < 4, "dropped after %.1f s" % elapsed
        raw.close()
        return "dropped after %.1f s" % elapsed
    finally:
        stop_server(proc)


def raw_idle_timeout(_port):
    # --idle: a silent WebSocket gets a close frame (1001), then TCP close.
    proc, port = start_server("--idle", "1")
    try:
        raw = raw_ws(port)
        t0 = time.perf_counter()
        expect_close(raw, 1001)
        elapsed = time.perf_counter() - t0
        assert 0.5 < elapsed < 4, "closed after %.1f s" % elapsed
        raw.close()
        return "closed after %.1f s" % elapsed
    finally:
        stop_server(proc)


# --- Shutdown ---------------------------------------------------------------

async def case_sigterm(proc, port):
    ws = await websockets.connect(uri(port), close_timeout=5)
    await roundtrip(ws, "before shutdown")
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(ws.recv(), 5)
        raise AssertionError("expected the connection to close")
    except websockets.ConnectionClosed as e:
        assert e.code == 1001, "close code %r" % e.code
    await ws.wait_closed()
    rc = await asyncio.get_running_loop().run_in_executor(None, lambda: proc.wait(timeout=5))
    assert rc == 0, "exit status %d" % rc


# --- Runner -------------------------------------------------------------------

ASYNC_CASES = [
    case_text, case_binary, case_empty, case_16mib_binary, case_1mib_utf8_text,
    case_fragmented, case_ping, case_pipelined, case_many_clients, case_clean_close,
]
RAW_CASES = [
    raw_close_handshake, raw_frames_with_request, raw_utf8_split, raw_invalid_utf8,
    raw_invalid_utf8_fragment, raw_unmasked, raw_ping_pong, raw_http_pages,
    raw_trickled_request, raw_too_big, raw_handshake_timeout,
    raw_idle_timeout, raw_bounded_memory,
]


async def run_all(proc, port):
    failures = 0
    cases = [(c.__name__, lambda c=c: c(port)) for c in ASYNC_CASES]
    cases += [(c.__name__, lambda c=c: asyncio.get_running_loop().run_in_executor(None, c, port))
              for c in RAW_CASES]
    cases.append(("case_sigterm", lambda: case_sigterm(proc, port)))
    for name, run in cases:
        t0 = time.perf_counter()
        try:
            note = await asyncio.wait_for(run(), CASE_TIMEOUT)
            extra = " (%s)" % note if note else ""
            print("ok   %-34s %6.3f s%s" % (name, time.perf_counter() - t0, extra), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            failures += 1
            print("FAIL %-34s %s: %s" % (name, type(e).__name__, e), flush=True)
        if proc.poll() is not None and name != "case_sigterm":
            print("FAIL echo_server exited with status %d" % proc.returncode, flush=True)
            return failures + 1
    return failures


def main():
    proc, port = start_server()
    try:
        failures = asyncio.run(run_all(proc, port))
    finally:
        stop_server(proc)
    print("echo_server vs python websockets %s: %s" %
          (websockets.version.version, "all passed" if failures == 0 else
           "%d failed" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
