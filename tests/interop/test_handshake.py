"""Interop: the opening handshake (RFC 6455 4) of tests/interop/hs_server.c
against Python `websockets` (10.x, asyncio client) and raw sockets.

Run by tests/interop/run.sh with WICK_BUILD set to the build directory.
Prints one line per case; exits non-zero when any case fails.
"""
import asyncio
import base64
import hashlib
import http
import os
import socket
import sys

import websockets

import wickproc

BUILD = os.path.abspath(os.environ.get("WICK_BUILD", "build"))
SERVER = os.path.join(BUILD, "interop", "hs_server")
CLIENT = os.path.join(BUILD, "interop", "hs_client")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def start_server(*args):
    """Starts the server under test on an ephemeral port; returns (process, port)."""
    return wickproc.start_server(SERVER, *args)


stop_server = wickproc.stop_server


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def raw_exchange(port, data, want_bytes=None):
    """Sends data, reads until EOF (or want_bytes), returns the bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data)
        got = b""
        while want_bytes is None or len(got) < want_bytes:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got
    finally:
        s.close()


def request(key="dGhlIHNhbXBsZSBub25jZQ==", version="13", extra=""):
    return ("GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: %s\r\n%s\r\n" % (key, version, extra)).encode()


def split_head(data):
    head, sep, rest = data.partition(b"\r\n\r\n")
    assert sep, "no end of header block in %r" % data
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return lines[0], fields, rest


# --- Cases ------------------------------------------------------------------

async def ws_chat(port):
    """websockets client offering "chat": negotiated, then "hello"."""
    uri = "ws://127.0.0.1:%d/chat" % port
    async with websockets.connect(uri, subprotocols=["chat"], open_timeout=10) as ws:
        assert ws.subprotocol == "chat", ws.subprotocol
        msg = await asyncio.wait_for(ws.recv(), 10)
        assert msg == "hello", repr(msg)
    assert ws.close_code == 1000, ws.close_code


async def ws_no_protocol(port):
    """websockets client offering other subprotocols: none selected."""
    uri = "ws://127.0.0.1:%d/" % port
    async with websockets.connect(uri, subprotocols=["superchat", "v2.x"],
                                  open_timeout=10) as ws:
        assert ws.subprotocol is None, ws.subprotocol
        msg = await asyncio.wait_for(ws.recv(), 10)
        assert msg == "hello", repr(msg)


async def ws_compression_offer(port):
    """websockets offers permessage-deflate; the server accepts none."""
    uri = "ws://127.0.0.1:%d/" % port
    async with websockets.connect(uri, compression="deflate", open_timeout=10) as ws:
        assert ws.extensions == [], ws.extensions
        assert await asyncio.wait_for(ws.recv(), 10) == "hello"


def raw_version_8(port):
    """Sec-WebSocket-Version: 8 gets 426 with Sec-WebSocket-Version: 13 (4.4)."""
    status, fields, _ = split_head(raw_exchange(port, request(version="8")))
    assert status.startswith("HTTP/1.1 426 "), status
    assert fields.get("sec-websocket-version") == ["13"], fields


def raw_bad_key(port):
    """A 10-byte key gets 400 (4.2.1 item 5)."""
    status, _, body = split_head(raw_exchange(port, request(key="dGhlIHNhbXBsZQ==")))
    assert status.startswith("HTTP/1.1 400 "), status
    assert b"Sec-WebSocket-Key" in body, body


def raw_plain_http(port):
    """No Upgrade at all: served as a page."""
    status, _, body = split_head(raw_exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status.startswith("HTTP/1.1 200 "), status
    assert body == b"hs_server: plain HTTP\n", body


def raw_pipelined_close(port):
    """Request and a masked close frame (1000) in one write: the frame bytes
    after the header block are not lost, the close is echoed."""
    key = base64.b64encode(os.urandom(16)).decode()
    mask = os.urandom(4)
    payload = b"\x03\xe8"
    frame = bytes([0x88, 0x80 | len(payload)]) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))
    got = raw_exchange(port, request(key=key, extra="Sec-WebSocket-Protocol: x, chat\r\n") + frame)
    status, fields, rest = split_head(got)
    assert status == "HTTP/1.1 101 Switching Protocols", status
    assert fields.get("sec-websocket-accept") == [accept_for(key)], fields
    assert fields.get("sec-websocket-protocol") == ["chat"], fields
    assert fields.get("upgrade") == ["websocket"], fields
    assert rest == b"\x81\x05hello\x88\x02\x03\xe8", rest


# --- The C client (wick_hs_client_*) against a websockets server ------------

async def run_client(port, *protos):
    proc = await asyncio.create_subprocess_exec(
        CLIENT, str(port), *protos, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    return proc.returncode, out.decode("utf-8", "replace")


async def handler(ws, path=None):
    await ws.send("hi from python")
    try:
        await ws.recv()
    except websockets.ConnectionClosed:
        pass


async def c_client_chat():
    """wick client offers chat, superchat; websockets picks chat."""
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["chat"],
                                compression=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        rc, out = await run_client(port, "superchat", "chat")
    assert rc == 0, (rc, out)
    assert "status=101 protocol=chat extensions=0" in out, out
    assert "message=hi from python" in out, out


async def c_client_deflate():
    """websockets accepts the permessage-deflate offer (with parameters):
    wick verifies it was offered and reports it (the payload is then
    compressed, so it is not compared)."""
    async with websockets.serve(handler, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        rc, out = await run_client(port, "chat")
    assert rc == 0, (rc, out)
    assert "status=101 protocol= extensions=1" in out, out


async def c_client_no_protocol():
    """wick client offers nothing the server speaks: no subprotocol."""
    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["chat"],
                                compression=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        rc, out = await run_client(port, "other")
    assert rc == 0, (rc, out)
    assert "status=101 protocol= extensions=0" in out, out


async def c_client_refused():
    """A server that answers 403: WICK_ERR_HS_STATUS with the status."""
    async def refuse(path, headers):
        return http.HTTPStatus.FORBIDDEN, [], b"go away\n"

    async with websockets.serve(handler, "127.0.0.1", 0, process_request=refuse) as srv:
        port = srv.sockets[0].getsockname()[1]
        rc, out = await run_client(port)
    assert rc == 2, (rc, out)
    assert "error=WICK_ERR_HS_STATUS status=403" in out, out


def main():
    proc, port = start_server()
    failed = 0
    cases = [
        ("websockets subprotocol chat + hello", lambda: asyncio.run(ws_chat(port))),
        ("websockets no subprotocol match", lambda: asyncio.run(ws_no_protocol(port))),
        ("websockets permessage-deflate offer declined",
         lambda: asyncio.run(ws_compression_offer(port))),
        ("raw version 8 -> 426", lambda: raw_version_8(port)),
        ("raw bad key -> 400", lambda: raw_bad_key(port)),
        ("raw plain HTTP -> page", lambda: raw_plain_http(port)),
        ("raw request + pipelined close frame", lambda: raw_pipelined_close(port)),
        ("C client vs websockets: chat", lambda: asyncio.run(c_client_chat())),
        ("C client vs websockets: deflate accepted", lambda: asyncio.run(c_client_deflate())),
        ("C client vs websockets: no subprotocol",
         lambda: asyncio.run(c_client_no_protocol())),
        ("C client vs websockets: 403", lambda: asyncio.run(c_client_refused())),
    ]
    try:
        for name, fn in cases:
            try:
                fn()
                print("ok   %s" % name)
            except Exception as exc:  # report every case, then fail
                failed += 1
                print("FAIL %s: %r" % (name, exc))
    finally:
        stop_server(proc)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
