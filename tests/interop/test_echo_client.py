"""Interop: examples/echo_client against a Python `websockets` echo server
(asyncio, in a thread of this process), and against examples/echo_server.

The Python server records every data frame it reads and the close code of
each connection, so the tests check what went over the wire (fragment
sizes, opcodes, close 1000), not only what the client printed.
Prints one line per case; exits non-zero when any case fails.
"""
import asyncio
import http
import os
import subprocess
import sys
import threading
import time

import websockets
from websockets.frames import Opcode

BUILD = os.path.abspath(os.environ.get("WICK_BUILD", "build"))
CLIENT = os.path.join(BUILD, "examples", "echo_client")
SERVER = os.path.join(BUILD, "examples", "echo_server")


class Recorder(websockets.WebSocketServerProtocol):
    """A server protocol that logs the data frames it reads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frames = []

    async def read_data_frame(self, max_size):
        frame = await super().read_data_frame(max_size)
        if frame is not None:
            self.frames.append((frame.opcode, len(frame.data), frame.fin))
        return frame


class EchoServer:
    """websockets echo server running in its own thread and event loop."""

    def __init__(self):
        self.connections = []  # (path, frames, close_code) per finished connection
        self.ready = threading.Event()
        self.loop = None
        self.port = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def _handler(self, ws, path):
        try:
            async for msg in ws:
                await ws.send(msg)
        finally:
            await ws.wait_closed()
            self.connections.append((path, ws.frames, ws.close_code))

    async def _process_request(self, path, headers):
        if path == "/forbidden":
            return http.HTTPStatus.FORBIDDEN, [], b"forbidden\n"
        return None

    def _run(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.stop_future = self.loop.create_future()

        async def main():
            async with websockets.serve(self._handler, "127.0.0.1", 0,
                                        create_protocol=Recorder,
                                        process_request=self._process_request) as srv:
                self.port = srv.sockets[0].getsockname()[1]
                self.ready.set()
                await self.stop_future

        self.loop.run_until_complete(main())

    def start(self):
        self.thread.start()
        self.ready.wait(10)
        return self.port

    def stop(self):
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.stop_future.set_result, None)
        self.thread.join(10)

    def last(self):
        """The most recent finished connection (waits briefly for it)."""
        for _ in range(100):
            if self.connections:
                return self.connections[-1]
            time.sleep(0.02)
        raise AssertionError("the server saw no finished connection")


def run_client(args, stdin=None):
    p = subprocess.run([CLIENT] + args, input=stdin, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("echo_client exited %d: %s" % (p.returncode,
                                                            p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def check_frames(got, want):
    assert got == want, "frames %r, want %r" % (got, want)


# --- Cases ----------------------------------------------------------------

def case_text(srv):
    srv.connections.clear()
    url = "ws://127.0.0.1:%d/chat?room=1" % srv.port
    out = run_client([url, "hello", "wick \u00e9\u2713", ""])
    assert out == "hello\nwick \u00e9\u2713\n\n", repr(out)
    path, frames, code = srv.last()
    assert path == "/chat?room=1", path
    assert code == 1000, "close code %r" % code
    check_frames(frames, [(Opcode.TEXT, 5, True), (Opcode.TEXT, len("wick \u00e9\u2713".encode()), True),
                          (Opcode.TEXT, 0, True)])


def case_binary(srv):
    srv.connections.clear()
    out = run_client(["--binary", "ws://127.0.0.1:%d/" % srv.port, "abc", "defg"])
    assert out == "abc\ndefg\n", repr(out)
    _, frames, code = srv.last()
    assert code == 1000, code
    check_frames(frames, [(Opcode.BINARY, 3, True), (Opcode.BINARY, 4, True)])


def case_fragment(srv):
    srv.connections.clear()
    out = run_client(["--fragment", "3", "ws://127.0.0.1:%d/" % srv.port, "abcdefghij"])
    assert out == "abcdefghij\n", repr(out)
    _, frames, code = srv.last()
    assert code == 1000, code
    check_frames(frames, [(Opcode.TEXT, 3, False), (Opcode.CONT, 3, False),
                          (Opcode.CONT, 3, False), (Opcode.CONT, 1, True)])


def case_ping(srv):
    srv.connections.clear()
    out = run_client(["--ping", "ws://127.0.0.1:%d/" % srv.port, "after ping"])
    lines = out.splitlines()
    assert sorted(lines) == sorted(["pong echo_client", "after ping"]), repr(out)
    assert srv.last()[2] == 1000


def case_stdin(srv):
    srv.connections.clear()
    out = run_client(["ws://127.0.0.1:%d/" % srv.port], stdin=b"one\ntwo\r\nthree")
    assert out == "one\ntwo\nthree\n", repr(out)
    assert len(srv.last()[1]) == 3


def case_large(srv):
    srv.connections.clear()
    # Larger than the client's 64 KiB output buffer; through stdin because
    # one argv string is limited to 128 KiB.
    big = "x" * (200 * 1024)
    out = run_client(["ws://127.0.0.1:%d/" % srv.port], stdin=big.encode())
    assert out == big + "\n", "large echo differs (%d bytes)" % len(out)
    _, frames, code = srv.last()
    assert code == 1000 and sum(f[1] for f in frames) == len(big), frames


def case_refused(srv):
    # A non-101 answer and a closed port both make the client fail cleanly.
    p = subprocess.run([CLIENT, "ws://127.0.0.1:%d/forbidden" % srv.port, "x"],
                       capture_output=True, timeout=30)
    assert p.returncode == 1 and b"403" in p.stderr, (p.returncode, p.stderr)
    p = subprocess.run([CLIENT, "ws://127.0.0.1:1/", "x"], capture_output=True, timeout=30)
    assert p.returncode == 1, "connecting to a closed port must fail"
    p = subprocess.run([CLIENT, "http://127.0.0.1/", "x"], capture_output=True, timeout=30)
    assert p.returncode == 2, "a non-ws URL is a usage error"


def case_against_wick_server(srv):
    # Both ends wick: echo_client against examples/echo_server.
    proc = subprocess.Popen([SERVER, "0"], stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline().split()[2])
        url = "ws://127.0.0.1:%d/" % port
        assert run_client([url, "a", "bb", "ccc"]) == "a\nbb\nccc\n"
        assert run_client(["--fragment", "2", "--binary", url, "12345"]) == "12345\n"
        big = "y" * (16 * 1024 * 1024)
        t0 = time.perf_counter()
        assert run_client([url], stdin=big.encode()) == big + "\n"
        return "16 MiB text line in %.2f s" % (time.perf_counter() - t0)
    finally:
        proc.terminate()
        assert proc.wait(5) == 0, "echo_server exit status"


CASES = [case_text, case_binary, case_fragment, case_ping, case_stdin, case_large,
         case_refused, case_against_wick_server]


def main():
    srv = EchoServer()
    srv.start()
    failures = 0
    try:
        for case in CASES:
            t0 = time.perf_counter()
            try:
                note = case(srv)
                extra = " (%s)" % note if note else ""
                print("ok   %-28s %6.3f s%s" % (case.__name__, time.perf_counter() - t0, extra),
                      flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure and go on
                failures += 1
                print("FAIL %-28s %s: %s" % (case.__name__, type(e).__name__, e), flush=True)
    finally:
        srv.stop()
    print("echo_client vs python websockets %s: %s" %
          (websockets.version.version, "all passed" if failures == 0 else
           "%d failed" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
