"""Cases 1.x (framing), 2.x (ping/pong), 3.x (reserved bits), 4.x (opcodes)
and 5.x (fragmentation), numbered and graded as in Autobahn|Testsuite."""

from engine import CaseDef, msg, pong
from wsproto import OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG

CASES = []


def case(cid, desc, expectation, **kw):
    def deco(fn):
        CASES.append(CaseDef(cid, desc, expectation, fn, **kw))
        return fn
    return deco


def echo_ok(p, payload, binary):
    p.expect(OK=[msg(payload, binary)])
    p.expect_close(True, [1000], True)


def proto_fail(p, ok=(), non_strict=None):
    """The peer must fail the connection with 1002."""
    if non_strict is None:
        p.expect(OK=list(ok))
    else:
        p.expect(OK=list(ok), NON_STRICT=list(non_strict))
    p.expect_close(False, [1002], False)


# --- 1.x framing ------------------------------------------------------------

def _add_1x():
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for sub, (op, fill, kind) in enumerate([(OP_TEXT, b"*", "text"), (OP_BINARY, b"\xfe", "binary")], 1):
        for i, n in enumerate(sizes, 1):
            def run(p, op=op, fill=fill, n=n):
                payload = fill * n
                echo_ok(p, payload, op == OP_BINARY)
                p.send_frame(op, payload)
                p.kill_after(1 if n < 65535 else 10)
            CASES.append(CaseDef("1.%d.%d" % (sub, i),
                                 "Send %s message with payload of length %d." % (kind, n),
                                 "Receive echo'ed %s message (with payload as sent). "
                                 "Clean close with normal code." % kind, run))

        def run8(p, op=op, fill=fill):
            payload = fill * 65536
            echo_ok(p, payload, op == OP_BINARY)
            p.send_frame(op, payload, chopsize=997)
            p.kill_after(10)
        CASES.append(CaseDef("1.%d.8" % sub,
                             "Send %s message with payload of length 65536. Sent out data in "
                             "chops of 997 octets." % kind,
                             "Receive echo'ed %s message (with payload as sent). Clean close "
                             "with normal code." % kind, run8))


_add_1x()


# --- 2.x ping/pong ----------------------------------------------------------

def _ping_case(cid, desc, payload, chopsize=None, wait=1):
    def run(p):
        p.expect(OK=[pong(payload)])
        p.expect_close(True, [1000], True)
        p.send_frame(OP_PING, payload, chopsize=chopsize)
        p.close_after(wait)
    CASES.append(CaseDef(cid, desc, "Pong with payload echo'ed is sent in reply to Ping. "
                         "Clean close with normal code.", run))


_ping_case("2.1", "Send ping without payload.", b"")
_ping_case("2.2", "Send ping with small text payload.", b"Hello, world!")
_ping_case("2.3", "Send ping with small binary (non UTF-8) payload.",
           b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")
_ping_case("2.4", "Send ping with binary payload of 125 octets.", b"\xfe" * 125)


@case("2.5", "Send ping with binary payload of 126 octets.",
      "Connection is failed immediately (1002/Protocol Error), since control frames are only "
      "allowed to have payload up to and including 125 octets.")
def c2_5(p):
    proto_fail(p)
    p.send_frame(OP_PING, b"\xfe" * 126)
    p.kill_after(1)


_ping_case("2.6", "Send ping with binary payload of 125 octets, send in octet-wise chops.",
           b"\xfe" * 125, chopsize=1, wait=2)


@case("2.7", "Send unsolicited pong without payload. Verify nothing is received. "
      "Clean close with normal code.", "Nothing.")
def c2_7(p):
    p.expect(OK=[])
    p.expect_close(True, [1000], True)
    p.send_frame(OP_PONG)
    p.send_close(1000)
    p.close_after(1)


@case("2.8", "Send unsolicited pong with payload. Verify nothing is received. "
      "Clean close with normal code.", "Nothing.")
def c2_8(p):
    p.expect(OK=[])
    p.expect_close(True, [1000], True)
    p.send_frame(OP_PONG, b"unsolicited pong payload")
    p.send_close(1000)
    p.close_after(1)


@case("2.9", "Send unsolicited pong with payload. Send ping with payload. Verify pong for "
      "ping is received.", "Nothing in reply to own Pong, but Pong with payload echo'ed in "
      "reply to Ping. Clean close with normal code.")
def c2_9(p):
    p.expect(OK=[pong(b"ping payload")])
    p.expect_close(True, [1000], True)
    p.send_frame(OP_PONG, b"unsolicited pong payload")
    p.send_frame(OP_PING, b"ping payload")
    p.close_after(1)


def _ten_pings(chopsize):
    def run(p):
        exp = []
        for i in range(10):
            payload = b"payload-%d" % i
            exp.append(pong(payload))
            p.send_frame(OP_PING, payload, chopsize=chopsize)
        p.expect(OK=exp)
        p.expect_close(True, [1000], True)
        p.close_after(3)
    return run


CASES.append(CaseDef("2.10", "Send 10 Pings with payload.",
                     "Pongs for our Pings with all the payloads. Clean close with normal code.",
                     _ten_pings(None)))
CASES.append(CaseDef("2.11", "Send 10 Pings with payload. Send out octets in octet-wise chops.",
                     "Pongs for our Pings with all the payloads. Clean close with normal code.",
                     _ten_pings(1)))


# --- 3.x reserved bits ------------------------------------------------------

@case("3.1", "Send small text message with RSV = 1.",
      "The connection is failed immediately (1002/protocol error), since RSV must be 0, when "
      "no extension defining RSV meaning has been negotiated.")
def c3_1(p):
    proto_fail(p)
    p.send_frame(OP_TEXT, b"Hello, world!", rsv=1)
    p.kill_after(1)


def _rsv_then_ping(cid, rsv, how, desc):
    def run(p):
        payload = b"Hello, world!"
        proto_fail(p, ok=[msg(payload)], non_strict=[])
        kw = {"sync": True} if how == "sync" else ({"chopsize": 1} if how == "chop" else {})
        p.send_frame(OP_TEXT, payload, **kw)
        p.send_frame(OP_TEXT, payload, rsv=rsv, **kw)
        p.send_frame(OP_PING, b"", **kw)
        p.kill_after(1)
    CASES.append(CaseDef(cid, desc, "Echo for first message is received, but then connection is "
                         "failed immediately, since RSV must be 0. The Pong is not received.", run))


_rsv_then_ping("3.2", 2, None, "Send small text message, then send again with RSV = 2, then send Ping.")
_rsv_then_ping("3.3", 3, "sync", "Send small text message, then send again with RSV = 3, then send "
               "Ping. Octets are sent in frame-wise chops.")
_rsv_then_ping("3.4", 4, "chop", "Send small text message, then send again with RSV = 4, then send "
               "Ping. Octets are sent in octet-wise chops.")


@case("3.5", "Send small binary message with RSV = 5.",
      "The connection is failed immediately, since RSV must be 0.")
def c3_5(p):
    proto_fail(p)
    p.send_frame(OP_BINARY, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff", rsv=5)
    p.kill_after(1)


@case("3.6", "Send Ping with RSV = 6.", "The connection is failed immediately, since RSV must be 0.")
def c3_6(p):
    proto_fail(p)
    p.send_frame(OP_PING, b"Hello, world!", rsv=6)
    p.kill_after(1)


@case("3.7", "Send Close with RSV = 7.", "The connection is failed immediately, since RSV must be 0.")
def c3_7(p):
    proto_fail(p)
    p.send_frame(OP_CLOSE, b"", rsv=7)
    p.kill_after(1)


# --- 4.x opcodes ------------------------------------------------------------

def _reserved_opcode(cid, op, payload, with_text, chop):
    kind = "non-control" if op < 8 else "control"

    def run(p):
        kw = {"chopsize": 1} if chop else {}
        if with_text:
            text = b"Hello, world!"
            proto_fail(p, ok=[msg(text)], non_strict=[])
            p.send_frame(OP_TEXT, text, **kw)
            p.send_frame(op, payload, **kw)
            p.send_frame(OP_PING, b"", **kw)
        else:
            proto_fail(p)
            p.send_frame(op, payload)
        p.kill_after(1)
    if with_text:
        desc = "Send small text message, then send frame with reserved %s Opcode = %d%s, then " \
               "send Ping%s." % (kind, op, " and non-empty payload" if payload else "",
                                 ", all sent in octet-wise chops" if chop else "")
    else:
        desc = "Send frame with reserved %s Opcode = %d%s." % (
            kind, op, " and non-empty payload" if payload else "")
    CASES.append(CaseDef(cid, desc, "The connection is failed immediately.", run))


_reserved_opcode("4.1.1", 3, b"", False, False)
_reserved_opcode("4.1.2", 4, b"reserved opcode payload", False, False)
_reserved_opcode("4.1.3", 5, b"", True, False)
_reserved_opcode("4.1.4", 6, b"Hello, world!", True, False)
_reserved_opcode("4.1.5", 7, b"Hello, world!", True, True)
_reserved_opcode("4.2.1", 11, b"", False, False)
_reserved_opcode("4.2.2", 12, b"reserved opcode payload", False, False)
_reserved_opcode("4.2.3", 13, b"", True, False)
_reserved_opcode("4.2.4", 14, b"Hello, world!", True, False)
_reserved_opcode("4.2.5", 15, b"Hello, world!", True, True)


# --- 5.x fragmentation ------------------------------------------------------

@case("5.1", "Send Ping fragmented into 2 fragments.",
      "Connection is failed immediately, since control message MUST NOT be fragmented.")
def c5_1(p):
    proto_fail(p)
    p.send_frame(OP_PING, b"fragment1", fin=False)
    p.send_frame(OP_CONT, b"fragment2", fin=True)
    p.kill_after(1)


@case("5.2", "Send Pong fragmented into 2 fragments.",
      "Connection is failed immediately, since control message MUST NOT be fragmented.")
def c5_2(p):
    proto_fail(p)
    p.send_frame(OP_PONG, b"fragment1", fin=False)
    p.send_frame(OP_CONT, b"fragment2", fin=True)
    p.kill_after(1)


def _two_fragments(cid, how, with_ping):
    def run(p):
        kw = {"sync": True} if how == "frame" else ({"chopsize": 1} if how == "octet" else {})
        exp = [pong(b"ping payload")] if with_ping else []
        exp.append(msg(b"fragment1fragment2"))
        p.expect(OK=exp)
        p.expect_close(True, [1000], True)
        p.send_frame(OP_TEXT, b"fragment1", fin=False, **kw)
        if with_ping:
            p.send_frame(OP_PING, b"ping payload", **kw)
        p.send_frame(OP_CONT, b"fragment2", fin=True, **kw)
        p.close_after(1)
    desc = "Send text Message fragmented into 2 fragments%s%s." % (
        ", one ping with payload in-between" if with_ping else "",
        {"frame": ", octets are sent in frame-wise chops",
         "octet": ", octets are sent in octet-wise chops"}.get(how, ""))
    CASES.append(CaseDef(cid, desc, "Message is processed and echo'ed back to us%s." % (
        " (the pong first)" if with_ping else ""), run))


_two_fragments("5.3", None, False)
_two_fragments("5.4", "frame", False)
_two_fragments("5.5", "octet", False)
_two_fragments("5.6", None, True)
_two_fragments("5.7", "frame", True)
_two_fragments("5.8", "octet", True)


def _orphan_continuation(cid, fin, how):
    def run(p):
        proto_fail(p)
        kw = {"sync": True} if how == "frame" else ({"chopsize": 1} if how == "octet" else {})
        p.send_frame(OP_CONT, b"non-continuation payload", fin=fin, **kw)
        p.send_frame(OP_TEXT, b"Hello, world!", fin=True, **kw)
        p.kill_after(1)
    desc = "Send unfragmented Text Message after Continuation Frame with FIN = %s, where there " \
           "is nothing to continue, sent in %s." % (
               "true" if fin else "false",
               {"frame": "per-frame chops", "octet": "octet-wise chops"}.get(how, "one chop"))
    CASES.append(CaseDef(cid, desc, "The connection is failed immediately, since there is no "
                         "message to continue.", run))


_orphan_continuation("5.9", True, None)
_orphan_continuation("5.10", True, "frame")
_orphan_continuation("5.11", True, "octet")
_orphan_continuation("5.12", False, None)
_orphan_continuation("5.13", False, "frame")
_orphan_continuation("5.14", False, "octet")


@case("5.15", "Send text Message fragmented into 2 fragments, then Continuation Frame with "
      "FIN = false where there is nothing to continue, then unfragmented Text Message, all sent "
      "in one chop.", "The connection is failed immediately, since there is no message to continue.")
def c5_15(p):
    proto_fail(p, ok=[msg(b"fragment1fragment2")], non_strict=[])
    p.send_frame(OP_TEXT, b"fragment1", fin=False)
    p.send_frame(OP_CONT, b"fragment2", fin=True)
    p.send_frame(OP_CONT, b"fragment3", fin=False)
    p.send_frame(OP_TEXT, b"fragment4", fin=True)
    p.kill_after(1)


def _repeated_orphan(cid, fin):
    def run(p):
        proto_fail(p)
        for _ in range(2):
            p.send_frame(OP_CONT, b"fragment1", fin=fin)
            p.send_frame(OP_TEXT, b"fragment2", fin=False)
            p.send_frame(OP_CONT, b"fragment3", fin=True)
        p.kill_after(1)
    CASES.append(CaseDef(cid, "Repeated 2x: Continuation Frame with FIN = %s (where there is "
                         "nothing to continue), then text Message fragmented into 2 fragments."
                         % ("true" if fin else "false"),
                         "The connection is failed immediately, since there is no message to "
                         "continue.", run))


_repeated_orphan("5.16", False)
_repeated_orphan("5.17", True)


@case("5.18", "Send text Message fragmented into 2 fragments, with both frame opcodes set to "
      "text, sent in one chop.", "The connection is failed immediately, since all data frames "
      "after the initial data frame must have opcode 0.")
def c5_18(p):
    proto_fail(p)
    p.send_frame(OP_TEXT, b"fragment1", fin=False)
    p.send_frame(OP_TEXT, b"fragment2", fin=True)
    p.kill_after(1)


def _five_fragments(sync):
    frags = [b"fragment1", b"fragment2", b"fragment3", b"fragment4", b"fragment5"]
    pings = [b"pongme 1!", b"pongme 2!"]

    def run(p):
        p.expect(OK=[pong(pings[0]), pong(pings[1]), msg(b"".join(frags))])
        p.expect_close(True, [1000], True)
        p.send_frame(OP_TEXT, frags[0], fin=False, sync=sync)
        p.send_frame(OP_CONT, frags[1], fin=False, sync=sync)
        p.send_frame(OP_PING, pings[0], sync=sync)

        def part2():
            p.send_frame(OP_CONT, frags[2], fin=False, sync=sync)
            p.send_frame(OP_CONT, frags[3], fin=False, sync=sync)
            p.send_frame(OP_PING, pings[1], sync=sync)
            p.send_frame(OP_CONT, frags[4], fin=True, sync=sync)
            p.close_after(1)
        p.continue_later(1, part2)
    return run


CASES.append(CaseDef("5.19", "A fragmented text message is sent in multiple frames. After sending "
                     "the first 2 frames of the text message, a Ping is sent. Then we wait 1s, "
                     "then we send 2 more text fragments, another Ping and then the final text "
                     "fragment. Everything is legal.",
                     "The peer immediately answers the first Ping before it has received the "
                     "last text message fragment. The peer pong's back the Ping's payload "
                     "exactly, and echo's the payload of the fragmented message back to us.",
                     _five_fragments(False)))
CASES.append(CaseDef("5.20", "Same as Case 5.19, but send all frames with SYNC = True. Note, this "
                     "does not change the octets sent in any way, only how the stream is chopped "
                     "up on the wire.", "Same as Case 5.19.", _five_fragments(True)))
