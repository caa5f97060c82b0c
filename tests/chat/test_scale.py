#!/usr/bin/python3
"""The chat server beyond one connection's lifetime (issue 13): room
history in memory (--history N), replayed on join, and a reconnect that
names the last message id it saw getting exactly what it missed, or being
told history no longer reaches back that far. And the admin `broadcast`
(to everyone connected), allowed by --admin NAME or an admin token.

Every test starts its own server on 127.0.0.1 port 0 and stops it with
SIGTERM. Usage: test_scale.py [BUILD_DIR] [-k NAME]
"""
import asyncio
import subprocess
import tempfile

import websockets

from chatlib import T, Server, nothing, recv, recv_json, send, server_path
import chatlib


async def join(srv, room, name, since=None):
    """Connects and joins; returns (ws, joined message, replayed chats)."""
    ws = await websockets.connect(srv.url(), max_queue=None)
    await recv(ws, "connected")
    payload = {"name": name}
    if since is not None:
        payload["since"] = since
    await send(ws, "join", room=room, payload=payload)
    j = await recv(ws, "system")
    assert j["payload"]["event"] == "joined", j
    replay = [await recv(ws, "chat") for _ in range(j["payload"]["history"]["count"])]
    return ws, j, replay


async def say(ws, room, text):
    """Sends a chat message; returns its server id (from the ack). Room
    events that arrive before the ack (joins, leaves) are skipped."""
    ref = await send(ws, "chat", room=room, payload={"text": text})
    while True:
        a = await recv_json(ws)
        if a["type"] == "ack":
            break
        assert a["type"] in ("user_joined", "user_left"), a
    assert a["payload"]["ref"] == ref, a
    return a["payload"]["msg"]


TESTS, test = chatlib.registry()


@test
async def test_history_on_join():
    with Server() as srv:
        a, j, replay = await join(srv, "lobby", "alice")
        assert j["payload"]["history"] == {"count": 0, "complete": True}, j
        ids = [await say(a, "lobby", "m%d" % i) for i in range(5)]
        b, j, replay = await join(srv, "lobby", "bob")
        assert [m["payload"]["text"] for m in replay] == ["m%d" % i for i in range(5)]
        assert [m["id"] for m in replay] == ids
        assert all(m["from_name"] == "alice" for m in replay)
        await recv(a, "user_joined")
        # History outlives the members: an emptied room keeps it.
        await a.close()
        await b.close()
        c, j, replay = await join(srv, "lobby", "carol")
        assert [m["id"] for m in replay] == ids
        await nothing(c)
        await c.close()


@test
async def test_reconnect_gets_exactly_what_it_missed():
    with Server("--history", "10") as srv:
        a, _, _ = await join(srv, "lobby", "alice")
        b, _, _ = await join(srv, "lobby", "bob")
        await recv(a, "user_joined")
        seen = []
        for i in range(3):
            await say(a, "lobby", "before%d" % i)
            seen.append((await recv(b, "chat"))["id"])
        await b.close()
        missed = [await say(a, "lobby", "during%d" % i) for i in range(4)]
        b, j, replay = await join(srv, "lobby", "bob", since=seen[-1])
        assert j["payload"]["history"] == {"count": 4, "complete": True}, j
        assert [m["id"] for m in replay] == missed
        # Nothing twice, nothing lost: the next live message follows.
        nxt = await say(a, "lobby", "after")
        assert (await recv(b, "chat"))["id"] == nxt
        await nothing(b)
        # A "since" that history no longer reaches: told so, gets what is kept.
        for i in range(12):
            await say(a, "lobby", "flood%d" % i)
        c, j, replay = await join(srv, "lobby", "carol", since=seen[0])
        assert j["payload"]["history"] == {"count": 10, "complete": False}, j
        assert [m["payload"]["text"] for m in replay] == ["flood%d" % i for i in range(2, 12)]
        await send(c, "join", room="x", payload={"since": "nope"})
        e = await recv(c, "error")
        assert e["payload"]["code"] == "invalid_field", e
        for ws in (a, b, c):
            await ws.close()


@test
async def test_history_off():
    with Server("--history", "0") as srv:
        a, _, _ = await join(srv, "lobby", "alice")
        await say(a, "lobby", "hello")
        b, j, replay = await join(srv, "lobby", "bob")
        assert j["payload"]["history"] == {"count": 0, "complete": True} and replay == []
        await a.close()
        await b.close()


@test
async def test_broadcast_single_process():
    with tempfile.NamedTemporaryFile() as sf:
        sf.write(b"scale-secret")
        sf.flush()

        def tok(user, role=()):
            out = subprocess.run([server_path(), "token", user, "--auth-secret", sf.name] +
                                 list(role), check=True, capture_output=True)
            return out.stdout.decode().strip()

        bad = subprocess.run([server_path(), "--admin", "root"], capture_output=True)
        assert bad.returncode == 2 and b"--auth-secret" in bad.stderr, bad
        with Server("--auth-secret", sf.name, "--admin", "root") as srv:
            conns = {}
            for user, role in (("root", ()), ("boss", ("--role", "admin")), ("alice", ()),
                               ("bob", ())):
                ws = await websockets.connect(srv.url() + "?token=" + tok(user, role))
                await recv(ws, "connected")
                conns[user] = ws
            await send(conns["bob"], "join", room="lobby", payload={})
            await recv(conns["bob"], "system")
            ref = await send(conns["alice"], "broadcast", payload={"text": "hi all"})
            e = await recv(conns["alice"], "error")
            assert e["payload"]["code"] == "forbidden" and e["payload"]["ref"] == ref, e
            # A token's role cannot be added by hand: the signature covers it.
            t = tok("alice").rsplit(".", 1)
            forged = await websockets.connect(srv.url() + "?token=%s.admin.%s" % (t[0], t[1]))
            await recv(forged, "connected")
            try:
                await asyncio.wait_for(forged.recv(), T)
                raise AssertionError("a forged admin token was accepted")
            except websockets.ConnectionClosed as c:
                assert c.rcvd is not None and c.rcvd.code == 1008, c
            for sender in ("root", "boss"):
                ref = await send(conns[sender], "broadcast", payload={"text": "from " + sender})
                a = await recv(conns[sender], "ack")
                assert a["payload"]["ref"] == ref, a
                for user, ws in conns.items():
                    if user != sender:
                        b = await recv(ws, "broadcast")
                        assert b["payload"]["text"] == "from " + sender, b
                        assert b["from_name"] == sender and b["id"] == a["payload"]["msg"], b
                await nothing(conns[sender])
            await send(conns["root"], "broadcast", payload={})
            assert (await recv(conns["root"], "error"))["payload"]["code"] == "invalid_field"
            for ws in conns.values():
                await ws.close()


if __name__ == "__main__":
    chatlib.main(TESTS, "chat-scale")
