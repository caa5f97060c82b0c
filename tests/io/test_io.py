"""Tests of the examples' I/O layer (issue 14), run by tests/io/run.sh:
wss with both roles, wss writes under backpressure, a bad certificate,
plain HTTP on the TLS port, and
SIGTERM during a 500-connection load against an ASan+UBSan echo_server.
Servers listen on 127.0.0.1, port 0, and are stopped here."""
import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

import websockets

BUILD = os.environ.get("WICK_BUILD", "build")
SAN_BUILD = os.environ.get("WICK_SAN_BUILD", "build/test-san")
CERT_DIR = sys.argv[1]
CERT = os.path.join(CERT_DIR, "cert.pem")
KEY = os.path.join(CERT_DIR, "key.pem")
OTHER = os.path.join(CERT_DIR, "other.pem")  # a CA that did not sign CERT
SERVER = os.path.join(BUILD, "examples", "echo_server")
CLIENT = os.path.join(BUILD, "examples", "echo_client")


def start(argv, env=None):
    p = subprocess.Popen(argv + ["0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    line = p.stdout.readline().decode()
    assert line.startswith("listening on "), line
    return p, int(line.split()[2])


def stop(p, want=0, timeout=10):
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        raise AssertionError("server did not stop within %d s" % timeout)
    err = err.decode(errors="replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err[-3000:]
    assert p.returncode == want, (p.returncode, err[-1000:])
    return err


def client_ctx():
    return ssl.create_default_context(cafile=CERT)


async def wss_echo(port, compression):
    async with websockets.connect("wss://localhost:%d/" % port, ssl=client_ctx(),
                                  compression=compression, max_size=None) as ws:
        for m in ["hello", "\u00e9" * 50000, os.urandom(300000), b""]:
            await ws.send(m)
            assert await ws.recv() == m


def case_wss_server():
    p, port = start([SERVER, "--tls-cert", CERT, "--tls-key", KEY])
    try:
        asyncio.run(wss_echo(port, "deflate"))
        asyncio.run(wss_echo(port, None))
        # https GET of the page, and plain HTTP on the TLS port.
        body = urllib.request.urlopen("https://localhost:%d/" % port, context=client_ctx(),
                                      timeout=5).read()
        assert b"wick echo server" in body
        plain = urllib.request.urlopen
        try:
            plain("http://127.0.0.1:%d/" % port, timeout=5).read()
            raise AssertionError("plain HTTP on the TLS port was served")
        except urllib.error.HTTPError as e:
            assert e.code == 400 and b"TLS" in e.read(), e
        # A client that fails the handshake (garbage) does not hurt the server.
        import socket
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"\x16\x03\x01\x00\x05hello")
        s.close()
        asyncio.run(wss_echo(port, None))
    finally:
        stop(p)


def case_wss_backpressure():
    """A wss client that sends 20 MB without reading for a while: the
    server's TLS writes block and are retried after its write queue has
    grown (OpenSSL failed such retries with "bad write retry" and the
    connection was lost until tls.c set SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)."""
    p, port = start([SERVER, "--tls-cert", CERT, "--tls-key", KEY])
    try:
        async def main():
            async with websockets.connect("wss://localhost:%d/" % port, ssl=client_ctx(),
                                          compression=None, max_size=None,
                                          max_queue=1) as ws:
                msgs = [os.urandom(100000) for _ in range(200)]

                async def sender():
                    for m in msgs:
                        await ws.send(m)
                t = asyncio.create_task(sender())
                try:
                    await asyncio.sleep(1.5)  # nobody reads: the server's socket fills
                    for i, m in enumerate(msgs):
                        got = await asyncio.wait_for(ws.recv(), 20)
                        assert got == m, "echo %d differs" % i
                    await t
                finally:
                    t.cancel()
        asyncio.run(main())
    finally:
        stop(p)
    return "200 x 100 KB echoed"


def case_wss_client():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)

    async def echo(ws, *_):
        async for m in ws:
            await ws.send(m)

    async def main():
        async with websockets.serve(echo, "127.0.0.1", 0, ssl=ctx) as srv:
            port = srv.sockets[0].getsockname()[1]
            url = "wss://localhost:%d/x" % port

            def run(*args, stdin=None):
                return subprocess.run([CLIENT, *args], input=stdin, capture_output=True,
                                      timeout=30)
            loop = asyncio.get_running_loop()
            r = await loop.run_in_executor(None, lambda: run("--ca", CERT, url, "one", "two"))
            assert r.returncode == 0 and r.stdout == b"one\ntwo\n", r
            big = b"z" * 500000 + b"\n"
            r = await loop.run_in_executor(None, lambda: run("--ca", CERT, url, stdin=big))
            assert r.returncode == 0 and r.stdout == big, (r.returncode, r.stderr)
            # Bad certificates are refused: not trusted, and wrong host name.
            r = await loop.run_in_executor(None, lambda: run("--ca", OTHER, url, "x"))
            assert r.returncode == 1 and b"certificate" in r.stderr, r
            r = await loop.run_in_executor(None, lambda: run(
                "--ca", CERT, "wss://127.0.0.2:%d/" % port, "x"))
            assert r.returncode != 0, r
            r = await loop.run_in_executor(None, lambda: run("--insecure", url, "x"))
            assert r.returncode == 0 and r.stdout == b"x\n", r
    asyncio.run(main())


def case_sigterm_under_load():
    exe = os.path.join(SAN_BUILD, "examples", "echo_server")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    p, port = start([exe], env=env)
    stats = {"echoes": 0, "closed_1001": 0}

    async def one(i):
        try:
            async with websockets.connect("ws://127.0.0.1:%d/" % port, open_timeout=30,
                                          compression=None if i % 2 else "deflate") as ws:
                msg = os.urandom(200 + i)
                while True:
                    await ws.send(msg)
                    await ws.recv()
                    stats["echoes"] += 1
        except websockets.ConnectionClosed as e:
            if e.rcvd is not None and e.rcvd.code == 1001:
                stats["closed_1001"] += 1
        except OSError:
            pass

    async def main():
        tasks = [asyncio.create_task(one(i)) for i in range(500)]
        await asyncio.sleep(3)
        p.send_signal(signal.SIGTERM)
        await asyncio.wait(tasks, timeout=15)

    t0 = time.monotonic()
    asyncio.run(main())
    try:
        _, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("echo_server did not exit after SIGTERM")
    err = err.decode(errors="replace")
    assert "Sanitizer" not in err and "runtime error" not in err, err[-3000:]
    assert p.returncode == 0, (p.returncode, err[-1000:])
    assert stats["echoes"] > 500 and stats["closed_1001"] > 100, stats
    return "%d echoes, %d clients got 1001, %.1f s" % (stats["echoes"], stats["closed_1001"],
                                                       time.monotonic() - t0)


CASES = [case_wss_server, case_wss_backpressure, case_wss_client, case_sigterm_under_load]


def main():
    failed = 0
    for c in CASES:
        t0 = time.monotonic()
        try:
            note = c() or ""
            print("ok   %-26s %6.2f s %s" % (c.__name__, time.monotonic() - t0, note))
        except Exception as e:  # noqa: BLE001 (one line per case)
            failed += 1
            print("FAIL %-26s %r" % (c.__name__, e))
    print("io: %d passed, %d failed" % (len(CASES) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
