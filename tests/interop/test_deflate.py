"""Interop: permessage-deflate (RFC 7692) with Python `websockets`, both roles.

  - examples/echo_server against websockets clients asking for each
    parameter combination (windows 8-15, no_context_takeover both ways);
  - examples/echo_client against websockets servers with compression.

Each case checks with websockets' own API that compression was agreed
(ws.extensions) and round-trips messages of 0 B, 100 B, 64 KiB and 1 MiB
(text and binary, compressible and random). Prints one line per case;
exits non-zero when any case fails.
"""
import asyncio
import os
import subprocess
import sys
import threading
import time

import websockets
from websockets.extensions.permessage_deflate import (ClientPerMessageDeflateFactory,
                                                      PerMessageDeflate,
                                                      ServerPerMessageDeflateFactory)

BUILD = os.path.abspath(os.environ.get("WICK_BUILD", "build"))
CLIENT = os.path.join(BUILD, "examples", "echo_client")
SERVER = os.path.join(BUILD, "examples", "echo_server")
SIZES = [0, 100, 64 * 1024, 1 << 20]


def messages():
    """Per size: compressible text, compressible binary, random binary."""
    out = []
    for n in SIZES:
        words = ("wick deflate \u00e9t\u00e9 \u20ac window %d " % n) * (n // 20 + 1)
        out.append(words.encode()[:n].decode(errors="ignore"))
        out.append((bytes(range(256)) * (n // 256 + 1))[:n])
        out.append(os.urandom(n))
    return out


def start_server(*args):
    proc = subprocess.Popen([SERVER, "0", "-v", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    line = proc.stdout.readline().decode()
    assert line.startswith("listening on "), line
    return proc, int(line.split()[2])


def stop_server(proc):
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace")


# --- echo_server against websockets clients --------------------------------

COMBOS = [
    {},
    {"client_max_window_bits": True},
    {"client_max_window_bits": 9},
    # wick's 9-bit deflate against an 8-bit inflater (WICK__PMD_MIN_DEFLATE_BITS).
    # (client_max_window_bits=8 is not here: websockets' own zlib cannot
    # deflate with 8 bits and fails locally.)
    {"server_max_window_bits": 8},
    {"server_max_window_bits": 12, "client_max_window_bits": 10},
    {"server_no_context_takeover": True},
    {"client_no_context_takeover": True},
    {"server_no_context_takeover": True, "client_no_context_takeover": True,
     "server_max_window_bits": 9, "client_max_window_bits": 9},
]


async def client_case(port, kw):
    factory = ClientPerMessageDeflateFactory(**kw)
    async with websockets.connect("ws://127.0.0.1:%d/deflate" % port, compression=None,
                                  extensions=[factory], max_size=None,
                                  close_timeout=5) as ws:
        assert len(ws.extensions) == 1 and isinstance(ws.extensions[0], PerMessageDeflate), \
            "not agreed: %r" % ws.extensions
        ext = ws.extensions[0]
        want = kw.get("server_max_window_bits")
        if want is not None:
            assert ext.remote_max_window_bits <= want, ext.remote_max_window_bits
        if kw.get("server_no_context_takeover"):
            assert ext.remote_no_context_takeover
        for m in messages():
            await ws.send(m)
            got = await asyncio.wait_for(ws.recv(), 20)
            assert got == m, "echo differs (%d bytes, want %d)" % (len(got), len(m))
        desc = "remote %d/%s local %d/%s" % (ext.remote_max_window_bits,
                                              ext.remote_no_context_takeover,
                                              ext.local_max_window_bits,
                                              ext.local_no_context_takeover)
    assert ws.close_code == 1000, ws.close_code
    return desc


async def declined_case(port):
    async with websockets.connect("ws://127.0.0.1:%d/" % port, close_timeout=5) as ws:
        assert ws.extensions == [], ws.extensions
        await ws.send("plain")
        assert await ws.recv() == "plain"


async def wire_bytes(port, compression):
    """Bytes the client read for one 64 KiB JSON-like echo, with or without
    compression (websockets' reader, counted at the transport)."""
    ws = await websockets.connect("ws://127.0.0.1:%d/" % port, compression=compression,
                                  close_timeout=5)
    count = [0]
    proto_recv = ws.data_received

    def counting(data):
        count[0] += len(data)
        proto_recv(data)
    ws.data_received = counting
    ws.transport.set_protocol(ws)
    msg = "".join('{"id": %d, "name": "user%d", "ok": true}\n' % (i, i % 50)
                  for i in range(1700))[:65536]
    await ws.send(msg)
    assert await ws.recv() == msg
    await ws.close()
    return count[0]


def run_server_cases(results):
    proc, port = start_server()
    try:
        for kw in COMBOS:
            name = "echo_server vs websockets %s" % (
                ",".join("%s=%s" % kv for kv in kw.items()) or "defaults")
            t0 = time.perf_counter()
            try:
                desc = asyncio.run(client_case(port, kw))
                results.append((True, name, "%.2f s, %s" % (time.perf_counter() - t0, desc)))
            except Exception as e:  # noqa: BLE001 (one line per case)
                results.append((False, name, repr(e)))
        try:
            plain = asyncio.run(wire_bytes(port, None))
            comp = asyncio.run(wire_bytes(port, "deflate"))
            results.append((comp < plain / 3, "wire bytes for a 64 KiB JSON echo",
                            "%d compressed, %d plain" % (comp, plain)))
        except Exception as e:  # noqa: BLE001
            results.append((False, "wire bytes", repr(e)))
    finally:
        log = stop_server(proc)
    agreed = log.count("permessage-deflate:")
    results.append((agreed >= len(COMBOS), "echo_server logged the agreements",
                    "%d lines" % agreed))
    proc, port = start_server("--no-deflate")
    try:
        asyncio.run(declined_case(port))
        results.append((True, "echo_server --no-deflate declines", ""))
    except Exception as e:  # noqa: BLE001
        results.append((False, "echo_server --no-deflate declines", repr(e)))
    finally:
        stop_server(proc)


# --- echo_client against websockets servers ---------------------------------

class Server:
    """A websockets echo server in a thread, recording each connection's
    extensions."""

    def __init__(self, **factory):
        self.factory = factory
        self.agreed = []
        self.ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait(10)

    async def _handler(self, ws, path):
        self.agreed.append(list(ws.extensions))
        async for m in ws:
            await ws.send(m)

    def _run(self):
        async def main():
            exts = [ServerPerMessageDeflateFactory(**self.factory)]
            async with websockets.serve(self._handler, "127.0.0.1", 0, compression=None,
                                        extensions=exts, max_size=None) as srv:
                self.port = srv.sockets[0].getsockname()[1]
                self.ready.set()
                await asyncio.Future()
        asyncio.run(main())


CLIENT_COMBOS = [
    {},
    {"server_max_window_bits": 9, "client_max_window_bits": 9},
    {"server_no_context_takeover": True, "client_no_context_takeover": True},
    {"server_max_window_bits": 11, "server_no_context_takeover": True},
]


def client_case_run(kw, extra_args=()):
    srv = Server(**kw)
    lines = [m for m in messages() if isinstance(m, str)]
    stdin = "".join(m + "\n" for m in lines).encode()
    p = subprocess.run([CLIENT, *extra_args, "ws://127.0.0.1:%d/" % srv.port], input=stdin,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stderr[-300:])
    assert p.stdout == stdin, "echo differs (%d bytes, want %d)" % (len(p.stdout), len(stdin))
    assert len(srv.agreed) == 1 and len(srv.agreed[0]) == 1 and \
        isinstance(srv.agreed[0][0], PerMessageDeflate), srv.agreed
    assert b"permessage-deflate:" in p.stderr, p.stderr
    return p.stderr.decode().strip().split(": ", 2)[-1]


def run_client_cases(results):
    for kw in CLIENT_COMBOS:
        name = "echo_client vs websockets server %s" % (
            ",".join("%s=%s" % kv for kv in kw.items()) or "defaults")
        try:
            results.append((True, name, client_case_run(kw)))
        except Exception as e:  # noqa: BLE001
            results.append((False, name, repr(e)))
    name = "echo_client --deflate-no-context-takeover --deflate-budget 20000"
    try:
        results.append((True, name, client_case_run({}, ["--deflate-no-context-takeover",
                                                         "--deflate-budget", "20000"])))
    except Exception as e:  # noqa: BLE001
        results.append((False, name, repr(e)))


def main():
    results = []
    run_server_cases(results)
    run_client_cases(results)
    bad = 0
    for ok, name, info in results:
        print("%-4s %-70s %s" % ("ok" if ok else "FAIL", name, info))
        bad += not ok
    print("permessage-deflate vs python websockets %s: %s" % (
        websockets.__version__, "all passed" if not bad else "%d failed" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
