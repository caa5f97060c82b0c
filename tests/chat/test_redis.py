#!/usr/bin/python3
"""Scale-out over Redis (issue 13): a real redis-server (no persistence)
and two or three chat_server nodes with --redis, all on 127.0.0.1 free
ports and stopped by the test that started them. Members, one order per
room, private messages and history across nodes; the issue's scenario on
three nodes (one order seen by members on all three, read receipts to
the author's node, no_such_user across nodes, admin broadcasts to every
node, a node killed with SIGKILL and its users gone from the others'
lists within the stated 5 s); Redis killed mid-run (system "degraded",
local chat goes on) and restarted (system "restored", no duplicates).

Usage: test_redis.py [BUILD_DIR] [-k NAME]
"""
import asyncio
import hashlib
import hmac
import socket
import subprocess
import tempfile
import time

import websockets

from chatlib import Server, T, nothing_but, recv_until, send
import chatlib

PRESENCE_S = 5.0  # docs/chat.md: a dead node's users leave within 4 s of its last beat


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Redis:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    def url(self):
        return "redis://127.0.0.1:%d" % self.port


class Node(Server):
    """chat_server with --redis; on a failure in its body, prints its last
    40 log lines. A node the test killed is only reaped."""
    what = "node"

    def __init__(self, redis, *args):
        super().__init__("--redis", redis.url(), *args)

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("node log (last 40 lines):\n" + "\n".join(self.logs().splitlines()[-40:]))
        if self.proc.poll() is None:
            code = self.stop()
            if exc[0] is None:
                assert code == 0, "node exit status %s\n%s" % (code, self.logs()[-3000:])
        else:
            self.proc.wait()


SECRET = b"test-redis-secret"


def token(user, admin=False):
    """A token as `chat_server token USER [--role admin]` makes it (auth.c)."""
    body = "%s.%d%s" % (user, int(time.time()) + 3600, ".admin" if admin else "")
    return body + "." + hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()


async def join(node, room, name, since=None, tok=None):
    """Connects and joins; returns (ws, joined message, replayed chats).
    tok: connect with ?token= (auth mode; name must be the token's user)."""
    url = node.url() + ("?token=" + tok if tok else "")
    ws = await websockets.connect(url, max_queue=None)
    await recv_until(ws, lambda m: m["type"] == "connected")
    payload = {"name": name}
    if since is not None:
        payload["since"] = since
    await send(ws, "join", room=room, payload=payload)
    j, _ = await recv_until(ws, lambda m: m["type"] == "system" and
                            m["payload"].get("event") == "joined", what="joined")
    replay = []
    for _ in range(j["payload"]["history"]["count"]):
        m, _ = await recv_until(ws, lambda m: m["type"] == "chat", what="history")
        replay.append(m)
    return ws, j, replay


def names(members):
    return sorted(m["name"] for m in members)


async def chats(ws, n, timeout=T):
    out = []
    while len(out) < n:
        m, _ = await recv_until(ws, lambda m: m["type"] == "chat", timeout, "chat %d" % len(out))
        out.append(m)
    return out


TESTS, test = chatlib.registry()


@test
async def test_two_nodes_members_order_private_history():
    with Redis() as redis, Node(redis) as na, Node(redis) as nb:
        await asyncio.sleep(0.3)  # both subscribed
        a, ja, _ = await join(na, "lobby", "alice")
        assert names(ja["payload"]["members"]) == ["alice"], ja
        b, jb, _ = await join(nb, "lobby", "bob")
        assert names(jb["payload"]["members"]) == ["alice", "bob"], jb
        uj, _ = await recv_until(a, lambda m: m["type"] == "user_joined", what="user_joined")
        assert uj["payload"]["name"] == "bob" and uj["from"] == jb["payload"]["you"]["id"], uj
        assert ja["payload"]["you"]["id"] != jb["payload"]["you"]["id"]
        # Interleaved bursts from both nodes: a third member on each node
        # sees every message, in one order.
        c, _, _ = await join(na, "lobby", "carol")
        d, _, _ = await join(nb, "lobby", "dave")
        n = 40
        for i in range(n):
            await send(a, "chat", room="lobby", payload={"text": "a%d" % i})
            await send(b, "chat", room="lobby", payload={"text": "b%d" % i})
        seq_c = [m["payload"]["text"] for m in await chats(c, 2 * n)]
        seq_d = [m["payload"]["text"] for m in await chats(d, 2 * n)]
        assert seq_c == seq_d, "orders differ:\n%r\n%r" % (seq_c, seq_d)
        assert sorted(seq_c) == sorted(["a%d" % i for i in range(n)] + ["b%d" % i for i in range(n)])
        got_b = [m["payload"]["text"] for m in await chats(b, n)]  # bob sees alice's, not his own
        got_a = [m["payload"]["text"] for m in await chats(a, n)]
        assert got_b == [t for t in seq_c if t[0] == "a"], got_b
        assert got_a == [t for t in seq_c if t[0] == "b"], got_a
        ids = [m["id"] for m in await chats(c, 0)]
        assert ids == []
        # Private messages across nodes, by name and by id.
        await send(a, "private", to="bob", payload={"text": "psst"})
        p, _ = await recv_until(b, lambda m: m["type"] == "private", what="private by name")
        assert p["payload"]["text"] == "psst" and p["from_name"] == "alice", p
        await send(b, "private", to=ja["payload"]["you"]["id"], payload={"text": "hi back"})
        p, _ = await recv_until(a, lambda m: m["type"] == "private", what="private by id")
        assert p["payload"]["text"] == "hi back" and p["from_name"] == "bob", p
        # History on join across nodes, and since.
        e, je, replay = await join(nb, "lobby", "erin")
        assert [m["payload"]["text"] for m in replay] == seq_c, "history differs from the order"
        assert je["payload"]["history"]["complete"] is True
        mid = replay[2 * n - 5]["id"]
        f, jf, replay = await join(na, "lobby", "frank", since=mid)
        assert [m["payload"]["text"] for m in replay] == seq_c[-4:], replay
        assert jf["payload"]["history"]["complete"] is True, jf
        g, jg, replay = await join(na, "lobby", "gina", since="s1")
        assert jg["payload"]["history"]["complete"] is False, jg
        for w in (a, b, c, d, e, f, g):
            await w.close()


def is_event(event):
    return lambda m: m["type"] == "system" and m["payload"].get("event") == event


@test
async def test_three_nodes_scenario():
    """The issue's scenario: three nodes and one Redis, members of one room
    on every node, interleaved sends from all three seen in one order by
    all; receipts, no_such_user, broadcasts across nodes; then node C is
    killed and its users leave the lists on A and B."""
    with tempfile.NamedTemporaryFile() as sf:
        sf.write(SECRET)
        sf.flush()
        opts = ("--auth-secret", sf.name, "--admin", "root")
        with Redis() as redis, Node(redis, *opts) as na, Node(redis, *opts) as nb, \
                Node(redis, *opts) as nc:
            await asyncio.sleep(0.3)
            users = {}  # name -> (ws, joined)
            for node, who in ((na, "alice"), (nb, "bob"), (nc, "carol"),
                              (na, "dave"), (nb, "erin"), (nc, "frank")):
                ws, j, _ = await join(node, "lobby", who, tok=token(who))
                users[who] = (ws, j)
            assert names(users["frank"][1]["payload"]["members"]) == \
                ["alice", "bob", "carol", "dave", "erin", "frank"]
            ws = {k: v[0] for k, v in users.items()}
            cid = {k: v[1]["payload"]["you"]["id"] for k, v in users.items()}
            # Interleaved sends from the three nodes: the three listeners (one
            # per node) see one order; each sender sees the others' in it.
            n = 20
            for i in range(n):
                for who in ("alice", "bob", "carol"):
                    await send(ws[who], "chat", room="lobby", payload={"text": "%s%d" % (who, i)})
            seqs = {}
            for who in ("dave", "erin", "frank"):
                seqs[who] = await chats(ws[who], 3 * n)
            texts = [m["payload"]["text"] for m in seqs["dave"]]
            for who in ("erin", "frank"):
                assert [m["payload"]["text"] for m in seqs[who]] == texts, "orders differ"
            assert [m["id"] for m in seqs["erin"]] == [m["id"] for m in seqs["dave"]]
            for who in ("alice", "bob", "carol"):
                got = [m["payload"]["text"] for m in await chats(ws[who], 2 * n)]
                assert got == [t for t in texts if not t.startswith(who)], (who, got)
            # Read receipts go to the author, on the author's node only.
            last_alice = [m for m in seqs["erin"] if m["from_name"] == "alice"][-1]["id"]
            last_carol = [m for m in seqs["dave"] if m["from_name"] == "carol"][-1]["id"]
            await send(ws["erin"], "read", room="lobby", payload={"up_to": last_alice})
            await send(ws["dave"], "read", room="lobby", payload={"up_to": last_carol})
            r, _ = await recv_until(ws["alice"], lambda m: m["type"] == "read", what="read on A")
            assert r["from_name"] == "erin" and r["payload"]["up_to"] == last_alice, r
            assert r["room"] == "lobby" and r["from"] == cid["erin"], r
            r, _ = await recv_until(ws["carol"], lambda m: m["type"] == "read", what="read on C")
            assert r["from_name"] == "dave" and r["payload"]["up_to"] == last_carol, r
            # Private messages: found on another node (ack), unknown (no_such_user).
            ref = await send(ws["alice"], "private", to="frank", payload={"text": "hi f"})
            a, _ = await recv_until(ws["alice"], lambda m: m["type"] in ("ack", "error") and
                                    m["payload"].get("ref") == ref, what="ack")
            assert a["type"] == "ack", a
            p, _ = await recv_until(ws["frank"], lambda m: m["type"] == "private", what="private")
            assert p["payload"]["text"] == "hi f" and p["id"] == a["payload"]["msg"], (p, a)
            for to, typ in (("nobody", "private"), ("c123", "private"), ("ghost", "offer")):
                ref = await send(ws["alice"], typ, to=to, payload={"text": "x", "sdp": "v=0"})
                e, _ = await recv_until(ws["alice"], lambda m: m["payload"].get("ref") == ref,
                                        what="no_such_user for %s" % to)
                assert e["type"] == "error" and e["payload"]["code"] == "no_such_user", e
            # Broadcasts: not for alice; for root (--admin) and boss (an
            # admin token), to everyone on every node, rooms or not.
            ref = await send(ws["alice"], "broadcast", payload={"text": "all"})
            e, _ = await recv_until(ws["alice"], lambda m: m["payload"].get("ref") == ref,
                                    what="forbidden")
            assert e["type"] == "error" and e["payload"]["code"] == "forbidden", e
            root = await websockets.connect(nb.url() + "?token=" + token("root"))
            boss = await websockets.connect(nc.url() + "?token=" + token("boss", True))
            idle = await websockets.connect(na.url() + "?token=" + token("idle"))
            for w in (root, boss, idle):
                await recv_until(w, lambda m: m["type"] == "connected")
            for sender, others, text in ((root, (boss, idle), "from root"),
                                         (boss, (root, idle), "from boss")):
                ref = await send(sender, "broadcast", payload={"text": text})
                a, _ = await recv_until(sender, lambda m: m["payload"].get("ref") == ref,
                                        what="broadcast ack")
                assert a["type"] == "ack", a
                for w in list(ws.values()) + list(others):
                    b, _ = await recv_until(w, lambda m: m["type"] == "broadcast",
                                            what="broadcast")
                    assert b["payload"]["text"] == text and b["id"] == a["payload"]["msg"], b
            await nothing_but(sender, ("ack",), 0.2)  # not to the sender itself
            # Node C killed: carol and frank leave the lists on A and B.
            t0 = time.monotonic()
            nc.proc.kill()
            for who in ("alice", "bob"):
                gone = set()
                while gone != {"carol", "frank"}:
                    m, _ = await recv_until(ws[who], lambda m: m["type"] == "user_left",
                                            PRESENCE_S + 1, "user_left on " + who)
                    assert m["payload"]["reason"] == "node_lost", m
                    gone.add(m["payload"]["name"])
            took = time.monotonic() - t0
            assert took <= PRESENCE_S, "took %.1f s" % took
            g, jg, _ = await join(na, "lobby", "gina", tok=token("gina"))
            assert names(jg["payload"]["members"]) == ["alice", "bob", "dave", "erin", "gina"], jg
            ref = await send(ws["alice"], "private", to="carol", payload={"text": "there?"})
            e, _ = await recv_until(ws["alice"], lambda m: m["payload"].get("ref") == ref,
                                    what="no_such_user for carol")
            assert e["type"] == "error" and e["payload"]["code"] == "no_such_user", e
            print("  three nodes: %d messages in one order on all; node C lost: its 2 users "
                  "left A's and B's lists after %.1f s" % (3 * n, took))
            for w in (ws["alice"], ws["bob"], ws["dave"], ws["erin"], g, root, idle):
                await w.close()


@test
async def test_redis_lost_and_back():
    redis = Redis().start()
    try:
        with Node(redis) as na, Node(redis) as nb:
            await asyncio.sleep(0.3)
            a, _, _ = await join(na, "lobby", "alice")
            a2, _, _ = await join(na, "lobby", "amy")
            b, _, _ = await join(nb, "lobby", "bob")
            await send(a, "chat", room="lobby", payload={"text": "before"})
            assert [m["payload"]["text"] for m in await chats(b, 1)] == ["before"]
            assert [m["payload"]["text"] for m in await chats(a2, 1)] == ["before"]
            redis.kill()
            for w in (a, a2, b):
                m, _ = await recv_until(w, lambda m: m["type"] == "system" and
                                        m["payload"].get("event") == "degraded", what="degraded")
            # Local chat goes on.
            await send(a, "chat", room="lobby", payload={"text": "during"})
            assert [m["payload"]["text"] for m in await chats(a2, 1)] == ["during"]
            await nothing_but(b, ("ack",), 0.3)
            redis.start()
            for w in (a, a2, b):
                await recv_until(w, lambda m: m["type"] == "system" and
                                 m["payload"].get("event") == "restored", 8, "restored")
            await send(a, "chat", room="lobby", payload={"text": "after"})
            assert [m["payload"]["text"] for m in await chats(b, 1)] == ["after"]
            assert [m["payload"]["text"] for m in await chats(a2, 1)] == ["after"]
            # Nothing twice: no more chats anywhere.
            for w in (a, a2, b):
                await nothing_but(w, ("ack", "user_joined", "user_left", "system"), 0.5)
            await send(b, "chat", room="lobby", payload={"text": "from b"})
            assert [m["payload"]["text"] for m in await chats(a, 1)] == ["from b"]
            for w in (a, a2, b):
                await w.close()
            assert "redis_down" in na.logs() and "redis_up" in na.logs()
    finally:
        redis.kill()


@test
async def test_redis_down_at_start():
    redis = Redis()
    with Node(redis) as na:
        a, j, _ = await join(na, "lobby", "alice")
        c, _, _ = await join(na, "lobby", "carol")
        await send(a, "chat", room="lobby", payload={"text": "local"})
        assert [m["payload"]["text"] for m in await chats(c, 1)] == ["local"]
        redis.start()
        try:
            await recv_until(a, lambda m: m["type"] == "system" and
                             m["payload"].get("event") == "restored", 8, "restored")
            await send(a, "chat", room="lobby", payload={"text": "shared"})
            assert [m["payload"]["text"] for m in await chats(c, 1)] == ["shared"]
            await a.close()
            await c.close()
        finally:
            redis.kill()


if __name__ == "__main__":
    chatlib.main(TESTS, "test-redis")
