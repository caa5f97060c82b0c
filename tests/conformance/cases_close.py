"""Cases 7.x: close handling and close codes, numbered as in
Autobahn|Testsuite."""

from engine import CaseDef, OK, NON_STRICT, INFORMATIONAL, FAILED, WRONG_CODE, msg
from wsproto import OP_CONT, OP_TEXT, OP_CLOSE, OP_PING

CASES = []


def wrong_code_fails(p):
    """7.x: a wrong close code fails the case, not only its close column."""
    if p.behavior_close == WRONG_CODE:
        p.behavior = FAILED
        p.result = p.result_close


def informational(p):
    if p.behavior == OK:
        p.result = "Text message was processed before close."
    elif p.behavior == NON_STRICT:
        p.result = "Close was processed before text message could be returned."
    else:
        p.result = "Actual events are undefined by the spec; received: %s" % ", ".join(
            "%s(%d bytes)" % (ev[0], len(ev[1])) for ev in p.received)
    p.behavior = INFORMATIONAL
    p.behavior_close = INFORMATIONAL


def case(cid, desc, expectation, post=wrong_code_fails):
    def deco(fn):
        CASES.append(CaseDef(cid, desc, expectation, fn, post=post))
        return fn
    return deco


@case("7.1.1", "Send a message followed by a close frame",
      "Echoed message followed by clean close with normal code.")
def c7_1_1(p):
    p.expect(OK=[msg(b"Hello World!")])
    p.expect_close(True, [1000], True)
    p.send_frame(OP_TEXT, b"Hello World!")
    p.kill_after(1)


@case("7.1.2", "Send two close frames", "Clean close with normal code. Second close frame ignored.")
def c7_1_2(p):
    p.suppress_close = True
    p.expect(OK=[])
    p.expect_close(True, [1000], True)
    p.send_close(1000)
    p.send_frame(OP_CLOSE)
    p.kill_after(1)


@case("7.1.3", "Send a ping after close message",
      "Clean close with normal code, no pong.")
def c7_1_3(p):
    p.suppress_close = True
    p.expect(OK=[])
    p.expect_close(True, [1000], True)
    p.send_close(1000)
    p.send_frame(OP_PING)
    p.kill_after(1)


@case("7.1.4", "Send text message after sending a close frame.",
      "Clean close with normal code. Text message ignored.")
def c7_1_4(p):
    p.suppress_close = True
    p.expect(OK=[])
    p.expect_close(True, [1000], True)
    p.send_close(1000)
    p.send_frame(OP_TEXT, b"Hello World!")
    p.kill_after(1)


@case("7.1.5", "Send message fragment1 followed by close then fragment",
      "Clean close with normal code.")
def c7_1_5(p):
    p.suppress_close = True
    p.expect(OK=[])
    p.expect_close(True, [1000], True)
    p.send_frame(OP_TEXT, b"fragment1", fin=False)
    p.send_close(1000)
    p.send_frame(OP_CONT, b"fragment2", fin=True)
    p.kill_after(1)


@case("7.1.6", "Send 256K message followed by close then a ping",
      "Case outcome depends on implementation defined close behavior. Message and close frame "
      "are sent back to back. If the close frame is processed before the text message write "
      "is complete (as can happen in asynchronous processing models) the close frame is "
      "processed first and the text message may not be received or may only be partially "
      "recieved.", post=informational)
def c7_1_6(p):
    p.suppress_close = True
    p.expect(OK=[msg(b"Hello World!")], NON_STRICT=[])
    p.expect_close(True, [1000], True)
    p.send_frame(OP_TEXT, b"BAsd7&jh23", payload_len=256 * 1024)
    p.send_frame(OP_TEXT, b"Hello World!")
    p.send_close(1000)
    p.send_frame(OP_PING)
    p.kill_after(1)


def _close_frame(cid, desc, expectation, payload, codes, clean):
    def run(p):
        p.suppress_close = True
        p.expect(OK=[])
        p.expect_close(True, codes, clean)
        p.send_close(payload=payload)
        p.kill_after(1)
    CASES.append(CaseDef(cid, desc, expectation, run, post=wrong_code_fails))


_close_frame("7.3.1", "Send a close frame with payload length 0 (no close code, no close reason)",
             "Clean close with normal code.", b"", [1000], True)
_close_frame("7.3.2", "Send a close frame with payload length 1",
             "Clean close with protocol error or drop TCP.", b"a", [1002], False)
_close_frame("7.3.3", "Send a close frame with payload length 2 (regular close with a code)",
             "Clean close with normal code.", (1000).to_bytes(2, "big"), [1000], True)
_close_frame("7.3.4", "Send a close frame with close code and close reason",
             "Clean close with normal code.", (1000).to_bytes(2, "big") + b"Hello World!",
             [1000], True)
_close_frame("7.3.5", "Send a close frame with close code and close reason of maximum length (123)",
             "Clean close with normal code.", (1000).to_bytes(2, "big") + b"*" * 123, [1000], True)
_close_frame("7.3.6", "Send a close frame with close code and close reason which is too long "
             "(124) - total frame payload 126 octets",
             "Clean close with protocol error code or dropped TCP connection.",
             (1000).to_bytes(2, "big") + b"*" * 124, [1002], False)
_close_frame("7.5.1", "Send a close frame with invalid UTF8 payload",
             "Clean close with protocol error or invalid utf8 code or dropped TCP.",
             (1000).to_bytes(2, "big") + b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
             b"\xed\xa0\x80\x65\x64\x69\x74\x65\x64", [1002, 1007], False)

for _i, _code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                            3000, 3999, 4000, 4999], 1):
    _close_frame("7.7.%d" % _i, "Send close with valid close code %d" % _code,
                 "Clean close with normal or echoed code", _code.to_bytes(2, "big"),
                 [1000, _code], True)

for _i, _code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], 1):
    _close_frame("7.9.%d" % _i, "Send close with invalid close code %d" % _code,
                 "Clean close with protocol error code or drop TCP", _code.to_bytes(2, "big"),
                 [1002], False)


def _undefined_code(cid, code):
    def run(p):
        p.suppress_close = True
        p.expect(OK=[])
        p.expect_close(True, [1000, code, 1002], False)
        p.send_close(payload=code.to_bytes(2, "big"))
        p.kill_after(1)

    def post(p):
        p.data["detail"] = "peer answered %s" % p.remote_close_code
        p.behavior = INFORMATIONAL
        p.behavior_close = INFORMATIONAL
        p.result = "Actual events are undefined by the spec (peer answered close code %s)." \
            % p.remote_close_code
    CASES.append(CaseDef(cid, "Send close with close code %d" % code,
                         "Clean close with normal or echoed code (informational: the spec "
                         "leaves it open).", run, post=post))


_undefined_code("7.13.1", 5000)
_undefined_code("7.13.2", 65535)
