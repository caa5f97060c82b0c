"""Helpers shared by the chat example's Python tests (test_chat.py,
test_abuse.py, test_scale.py, test_limits.py, test_redis.py): a
chat_server on 127.0.0.1 port 0 stopped with SIGTERM, sending and
reading the JSON protocol (docs/chat.md), and the runner each file's
main() uses. The test files import it from their own directory (a script's
directory is first on sys.path), so `python3 tests/chat/test_X.py BUILD`
needs no PYTHONPATH.
"""
import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PUBLIC = os.path.join(ROOT, "examples", "chat", "public")
BUILD = "build"  # set by parse_args() from the command line
T = 3.0  # seconds to wait for an expected message


def server_path():
    b = BUILD if os.path.isabs(BUILD) else os.path.join(ROOT, BUILD)
    return os.path.join(b, "examples", "chat_server")


class Server:
    """chat_server on a free port with the given flags (plus --public and
    -v); stderr kept for logs(). Stopped with SIGTERM on exit, which must
    exit 0 unless the body raised."""
    what = "server"

    def __init__(self, *args):
        self.args = list(args)
        self.log = tempfile.TemporaryFile()
        self.proc = None
        self.port = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [server_path(), "--port", "0", "--public", PUBLIC, "-v"] + self.args,
            stdout=subprocess.PIPE, stderr=self.log, cwd=ROOT)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("listening on "), "%s did not start: %r" % (self.what, line)
        self.port = int(line.split()[2])
        return self

    def url(self, path="/chat"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def stop(self):
        """SIGTERM (if still running); returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not stop on SIGTERM" % self.what)

    def cpu_s(self):
        f = open("/proc/%d/stat" % self.proc.pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def logs(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __exit__(self, *exc):
        code = self.stop()
        if exc[0] is None:
            assert code == 0, "%s exit status %s" % (self.what, code)


_ids = [0]


def mid():
    _ids[0] += 1
    return "t%d" % _ids[0]


async def send(ws, type_, **fields):
    """Sends {"id", "type", **fields}; returns the id."""
    msg = {"id": mid(), "type": type_}
    msg.update(fields)
    await ws.send(json.dumps(msg))
    return msg["id"]


async def recv_json(ws, timeout=T):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def check_type(m, want):
    if want is not None:
        assert m["type"] == want, "want %s, got %r" % (want, m)
    return m


async def recv_raw(ws, want=None, timeout=T):
    """The next message, acks included (test_abuse.py, test_limits.py)."""
    return check_type(await recv_json(ws, timeout), want)


async def recv_next(ws, want=None, timeout=T):
    """The next message that is not an ack (unless want is "ack"),
    unchecked."""
    while True:
        m = await recv_json(ws, timeout)
        if m["type"] != "ack" or want == "ack":
            return m


async def recv(ws, want=None, timeout=T):
    """The next message that is not an ack (acks: test_abuse.py)."""
    return check_type(await recv_next(ws, want, timeout), want)


async def recv_until(ws, pred, timeout=T, what="a message"):
    """Reads until pred(m); returns (m, the messages skipped)."""
    skipped = []
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for %s; got %r" % (what, skipped[-5:]))
        m = json.loads(await asyncio.wait_for(ws.recv(), left))
        if pred(m):
            return m, skipped
        skipped.append(m)


async def nothing_but(ws, allowed, timeout=0.5):
    """No message of a type outside `allowed` for `timeout` seconds."""
    try:
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            assert m["type"] in allowed, "unexpected message: %r" % m
    except asyncio.TimeoutError:
        return


async def nothing(ws, timeout=0.3):
    """No message but acks within timeout."""
    await nothing_but(ws, ("ack",), timeout)


def registry():
    """A file's test list and its @test decorator."""
    tests = []

    def test(fn):
        tests.append(fn)
        return fn
    return tests, test


def parse_args(argv=None):
    """[BUILD_DIR] [-k NAME...]: sets BUILD; returns the -k names."""
    global BUILD
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        BUILD = args.pop(0)
    return args[args.index("-k") + 1:] if "-k" in args else []


async def run(tests, name, selected):
    """Runs each test (60 s each) whose name contains one of `selected`
    (all if empty); ends with "NAME: N passed, N failed" (run.sh adds those
    up); returns the failures."""
    passed = failed = 0
    for fn in tests:
        if selected and not any(k in fn.__name__ for k in selected):
            continue
        start = time.monotonic()
        try:
            await asyncio.wait_for(fn(), 60)
            passed += 1
            print("ok   %-40s %.2fs" % (fn.__name__, time.monotonic() - start), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            print("FAIL %s: %s: %s" % (fn.__name__, type(e).__name__, e), flush=True)
            traceback.print_exc()
    print("%s: %d passed, %d failed" % (name, passed, failed))
    return failed


def main(tests, name, selected=None):
    if selected is None:
        selected = parse_args()
    sys.exit(1 if asyncio.run(run(tests, name, selected)) else 0)


async def connect(srv):
    """A websockets client (no queue or size limit, no compression) past
    its `connected` message; returns (ws, that message's payload)."""
    ws = await websockets.connect(srv.url(), max_queue=None, max_size=None, compression=None)
    m = await recv_raw(ws, "connected")
    return ws, m["payload"]


async def joined(srv, room, name):
    """connect() and join `room` as `name`; returns (ws, connected payload)."""
    ws, hello = await connect(srv)
    await send(ws, "join", room=room, payload={"name": name})
    m = await recv_raw(ws, "system")
    assert m["payload"]["event"] == "joined", m
    return ws, hello


def close_code(s, pending=b"", timeout=T, strict=False):
    """Reads server frames from a raw socket (after `pending`, bytes
    already read) until a close frame; returns its code, 1005 if it has
    none. At EOF, a reset or the timeout: None, or with strict an
    AssertionError (EOF) or the socket's exception."""
    buf = pending
    s.settimeout(timeout)
    while True:
        while len(buf) >= 2:
            ln = buf[1] & 0x7F
            off = 2
            if ln == 126:
                if len(buf) < 4:
                    break
                ln, off = struct.unpack("!H", buf[2:4])[0], 4
            elif ln == 127:
                if len(buf) < 10:
                    break
                ln, off = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < off + ln:
                break
            op, body, buf = buf[0] & 0x0F, buf[off:off + ln], buf[off + ln:]
            if op == 8:
                return struct.unpack("!H", body[:2])[0] if len(body) >= 2 else 1005
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            if strict:
                raise
            return None
        if not chunk:
            assert not strict, "closed without a close frame"
            return None
        buf += chunk
