"""Cases 9.x (limits and performance) and 10.1.1 (auto-fragmentation),
numbered as in Autobahn|Testsuite. 9.x report their duration (the round
trip time of the whole case)."""

from engine import CaseDef, OK, FAILED, msg
from wsproto import OP_TEXT, OP_BINARY

CASES = []
KiB = 1024
MiB = 1024 * 1024
TEXT_PATTERN = b"BAsd7&jh23"
BIN_PATTERN = b"\x00\xfe\x23\xfa\xf0"


def _size(n):
    return "%dM" % (n // MiB) if n >= MiB else "%dk" % (n // KiB)


def _big_echo(send, binary, expected):
    """A case that sends one large message and waits for its echo."""
    def run(p):
        p.expect_close(True, [1000], True)
        p.result = "Did not receive the message in time."

        def on_message(data, is_binary):
            if is_binary != binary:
                p.result = "Expected a %s message, got %s." % (
                    "binary" if binary else "text", "binary" if is_binary else "text")
            elif len(data) != len(expected):
                p.result = "Expected payload of length %d, got %d." % (len(expected), len(data))
            elif data != expected:
                p.result = "Payload of length %d differs from what was sent." % len(data)
            else:
                p.data["ok"] = True
                p.result = "Received %s message of length %d." % (
                    "binary" if binary else "text", len(data))
            p.send_close(1000)
        p.on_message_hook = on_message
        send(p)

    def post(p):
        p.behavior = OK if p.data.get("ok") else FAILED
    return run, post


def _add_9_1_2():
    for sub, (op, pattern, kind) in enumerate([(OP_TEXT, TEXT_PATTERN, "text"),
                                               (OP_BINARY, BIN_PATTERN, "binary")], 1):
        for i, n in enumerate([64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB], 1):
            expected = (pattern * (n // len(pattern) + 1))[:n]
            run, post = _big_echo(lambda p, op=op, e=expected: p.send_frame(op, e),
                                  op == OP_BINARY, expected)
            CASES.append(CaseDef("9.%d.%d" % (sub, i), "Send %s message with payload of length "
                                 "%d (%s)." % (kind, n, _size(n)),
                                 "Receive echo'ed %s message (with payload as sent)." % kind,
                                 run, post=post, timeout=100 if n >= MiB else 15,
                                 report_time=True, big=True))


def _add_9_3_4():
    n = 4 * MiB
    for sub, (binary, fill, kind) in enumerate([(False, b"*", "text"), (True, b"\xfe", "binary")], 3):
        for i, frag in enumerate([64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB,
                                  4 * MiB], 1):
            # Autobahn's 9.4.2 .. 9.4.9 send "*" bytes in binary messages.
            f = fill if (not binary or i == 1) else b"*"
            expected = f * n
            run, post = _big_echo(
                lambda p, b=binary, e=expected, fr=frag: p.send_message(e, b, fr),
                binary, expected)
            CASES.append(CaseDef("9.%d.%d" % (sub, i), "Send fragmented %s message with message "
                                 "payload of length 4M. Sent out in fragments of %s." % (
                                     kind, frag if frag < KiB else _size(frag)),
                                 "Receive echo'ed %s message (with payload as sent)." % kind,
                                 run, post=post, timeout=100, report_time=True, big=True))


def _add_9_5_6():
    n = MiB
    for sub, (op, pattern, kind) in enumerate([(OP_TEXT, TEXT_PATTERN, "text"),
                                               (OP_BINARY, BIN_PATTERN, "binary")], 5):
        expected = (pattern * (n // len(pattern) + 1))[:n]
        for i, chop in enumerate([64, 128, 256, 512, 1024, 2048], 1):
            run, post = _big_echo(
                lambda p, op=op, e=expected, c=chop: p.send_frame(op, e, chopsize=c),
                op == OP_BINARY, expected)
            CASES.append(CaseDef("9.%d.%d" % (sub, i), "Send %s message with payload of length "
                                 "1M. Sent out data in chops of %d octets." % (kind, chop),
                                 "Receive echo'ed %s message (with payload as sent)." % kind,
                                 run, post=post, timeout=100, report_time=True, big=True))


def _add_9_7_8():
    for sub, binary in ((7, False), (8, True)):
        kind = "binary" if binary else "text"
        for i, (size, count, waitsecs) in enumerate([(0, 1000, 60), (16, 1000, 60),
                                                      (64, 1000, 60), (256, 1000, 120),
                                                      (1024, 1000, 240), (4096, 1000, 480)], 1):
            payload = (b"\xfe" if binary else b"*") * size
            op = OP_BINARY if binary else OP_TEXT

            def run(p, payload=payload, op=op, count=count, binary=binary):
                p.expect_close(True, [1000], True)
                p.result = "Case did not finish in time."
                p.data["n"] = 1

                def on_message(data, is_binary):
                    if is_binary != binary or data != payload:
                        p.result = "Echo'ed message type or payload differs (binary = %s, " \
                                   "length = %d)." % (is_binary, len(data))
                        p.send_close(1000)
                    elif p.data["n"] < count:
                        p.data["n"] += 1
                        p.send_frame(op, payload)
                    else:
                        p.data["ok"] = True
                        p.result = "Ok, received all echo'ed messages in time."
                        p.send_close(1000)
                p.on_message_hook = on_message
                p.send_frame(op, payload)

            def post(p):
                p.behavior = OK if p.data.get("ok") else FAILED
            CASES.append(CaseDef("9.%d.%d" % (sub, i), "Send %d %s messages of payload size %d "
                                 "to measure implementation/network RTT (round trip time) / "
                                 "latency." % (count, kind, size),
                                 "Receive echo'ed %s messages (with payload as sent). Timeout "
                                 "case after %d secs." % (kind, waitsecs), run, post=post,
                                 timeout=waitsecs, report_time=True, big=True))


_add_9_1_2()
_add_9_3_4()
_add_9_5_6()
_add_9_7_8()


def _c10_1_1(p):
    payload = b"*" * 65536
    p.expect(OK=[msg(payload)])
    p.expect_close(True, [1000], True)
    p.send_message(payload, False, fragment_size=1300)
    p.kill_after(10)


def _c10_1_1_post(p):
    # The frames we sent must be 50 + 1 (Autobahn checks its own auto-fragmentation).
    if p.tx_frames[OP_TEXT] != 1 or p.tx_frames[0] != 65536 // 1300:
        p.behavior = FAILED
        p.result = "Frames transmitted %s do not match what we expected." % dict(p.tx_frames)


CASES.append(CaseDef("10.1.1", "Send text message with payload of length 65536 auto-fragmented "
                     "with autoFragmentSize = 1300.",
                     "Receive echo'ed text message (with payload as sent and transmitted frame "
                     "counts as expected). Clean close with normal code.", _c10_1_1,
                     post=_c10_1_1_post, timeout=15))
