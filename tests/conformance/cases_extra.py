"""The suite's own message-level cases (not in Autobahn), run in both roles
with the catalogue:

  U.x  UTF-8 in long texts. Autobahn's 6.x payloads are at most a few dozen
       bytes, so they never reach a validator's word-at-a-time or SIMD fast
       path; these put valid and invalid sequences at every offset around
       16/32/64-byte boundaries of long ASCII runs, and split them across
       frames at awkward places.
  M.x  Random valid traffic with a fixed seed: messages of random kind,
       size and fragmentation with pings in between; every echo must be
       byte-identical and in order.
"""

import random

from engine import CaseDef, msg, pong
from wsproto import OP_CONT, OP_TEXT, OP_BINARY, OP_PING

CASES = []

OFFSETS = [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 1000, 4095, 4096]


def _echo_case(cid, desc, frames_fn, expected):
    """frames_fn(p) sends; expected is the list of events to receive."""
    def run(p):
        p.expect(OK=expected)
        p.expect_close(True, [1000], True)
        frames_fn(p)
        p.kill_after(3)
    CASES.append(CaseDef(cid, desc, "Every message echoed as sent; clean close.", run))


def _invalid_case(cid, desc, frames_fn):
    def run(p):
        p.expect(OK=[])
        p.expect_close(False, [1007], False, wrong_endpoint_fatal=True)
        frames_fn(p)
        p.kill_after(2)
    CASES.append(CaseDef(cid, desc, "The connection is failed with 1007.", run))


def _text(payload, frag=None):
    return lambda p: p.send_message(payload, False, frag)


# U.1: a valid multi-byte character after k ASCII bytes, in a 300-byte text.
_CHARS = [b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]
for _i, _k in enumerate(OFFSETS, 1):
    _payload = b"".join(b"a" * _k + c for c in _CHARS) + b"z" * 300
    _echo_case("U.1.%d" % _i, "Valid text: each of U+00E9, U+20AC, U+1F600, U+FFFF, U+10FFFF "
               "after %d ASCII bytes, then 300 ASCII bytes." % _k, _text(_payload),
               [msg(_payload)])

# U.2: one invalid sequence after k ASCII bytes, followed by 200 valid bytes.
_BAD = [(b"\x80", "lone continuation byte"), (b"\xff", "byte 0xFF"),
        (b"\xc0\xaf", "overlong '/'"), (b"\xed\xa0\x80", "UTF-16 surrogate"),
        (b"\xf4\x90\x80\x80", "above U+10FFFF"), (b"\xe2\x82", "truncated 3-byte sequence"),
        (b"\xf0\x9f\x98", "truncated 4-byte sequence")]
_n = 0
for _bad, _what in _BAD:
    for _k in OFFSETS:
        _n += 1
        _invalid_case("U.2.%d" % _n, "Invalid text: %s (%s) after %d ASCII bytes, then 200 "
                      "ASCII bytes." % (_what, _bad.hex(), _k), _text(b"a" * _k + _bad + b"b" * 200))

# U.3: the message ends inside a sequence (valid so far, incomplete at FIN).
for _i, (_tail, _what) in enumerate([(b"\xc3", "2-byte"), (b"\xe2\x82", "3-byte"),
                                     (b"\xf0\x9f\x98", "4-byte")], 1):
    _payload = b"a" * 100 + _tail
    _invalid_case("U.3.%d" % _i, "Text of 100 ASCII bytes ending inside a %s sequence (%s), "
                  "in one frame." % (_what, _tail.hex()), _text(_payload))
    _invalid_case("U.3.%d" % (_i + 3), "Same as U.3.%d, in two frames (the incomplete sequence "
                  "alone in the last one)." % _i,
                  lambda p, a=b"a" * 100, t=_tail: (p.send_frame(OP_TEXT, a, fin=False),
                                                    p.send_frame(OP_CONT, t, fin=True)))

# U.4: long valid texts split into frames of awkward sizes (sequences cut
# across frame boundaries after long runs).
_rng = random.Random(6455)
_alphabet = ["a", "b", " ", "\u00e9", "\u03ba", "\u20ac", "\u4e2d", "\U0001f600", "\U00010348",
             "\uffff", "\U0010ffff"]
for _i, _frag in enumerate([1, 3, 7, 16, 17, 31, 33, 64, 65, 1000], 1):
    _s = "".join(_rng.choice(_alphabet) for _ in range(700)).encode("utf-8")
    _echo_case("U.4.%d" % _i, "Valid mixed-script text of %d bytes in frames of %d bytes."
               % (len(_s), _frag), _text(_s, _frag), [msg(_s)])

# U.5: 64 KiB of ASCII with one invalid byte near the end, sent in frames of
# 4 KiB: fails with 1007.
_invalid_case("U.5.1", "64 KiB ASCII text with 0xC0 at offset 65000, in 4 KiB frames.",
              _text(b"x" * 65000 + b"\xc0" + b"x" * 535, 4096))
_echo_case("U.5.2", "64 KiB of 2-byte characters (U+00E9) in 4097-byte frames (every frame "
           "boundary cuts a character).", _text("\u00e9".encode() * 32768, 4097),
           [msg("\u00e9".encode() * 32768)])


# M.x: random valid traffic.
def _random_traffic(seed, count, max_size):
    def run(p):
        rng = random.Random(seed)
        expected = []
        for i in range(count):
            kind = rng.random()
            if kind < 0.15:
                payload = bytes(rng.randrange(256) for _ in range(rng.randrange(126)))
                p.send_frame(OP_PING, payload)
                expected.append(pong(payload))
                continue
            binary = kind < 0.5
            size = rng.choice([0, 1, 2, 125, 126, 127, 65535, 65536, rng.randrange(max_size)])
            size = min(size, max_size)
            if binary:
                payload = bytes(rng.randrange(256) for _ in range(min(size, 512))) * \
                    (size // 512 + 1)
                payload = payload[:size]
            else:
                payload = "".join(rng.choice(_alphabet) for _ in range(size // 3 + 1)).encode()
            nfr = rng.choice([1, 1, 2, 3, 10])
            op = OP_BINARY if binary else OP_TEXT
            cuts = sorted(rng.randrange(len(payload) + 1) for _ in range(nfr - 1))
            parts, last = [], 0
            for c in cuts + [len(payload)]:
                parts.append(payload[last:c])
                last = c
            for j, part in enumerate(parts):
                p.send_frame(op if j == 0 else OP_CONT, part, fin=(j == len(parts) - 1))
                if rng.random() < 0.2 and j < len(parts) - 1:
                    ping = b"mid-%d-%d" % (i, j)
                    p.send_frame(OP_PING, ping)
                    expected.append(pong(ping))
            expected.append(msg(payload, binary))
        # Control frames may overtake a message echo still being written, so
        # messages and pongs are compared each in their own order.
        want_msgs = [e for e in expected if e[0] == "message"]
        want_pongs = [e for e in expected if e[0] == "pong"]
        p.data["want"] = (want_msgs, want_pongs)
        p.expect_close(True, [1000], True)

        def split():
            return ([e for e in p.received if e[0] == "message"],
                    [e for e in p.received if e[0] == "pong"])

        def done():
            got_msgs, got_pongs = split()
            return len(got_msgs) >= len(want_msgs) and len(got_pongs) >= len(want_pongs)
        p.done_check = done
        p.data["split"] = split
        p.kill_after(10)
    return run


def _random_post(p):
    want_msgs, want_pongs = p.data["want"]
    got_msgs, got_pongs = p.data["split"]()
    others = [e for e in p.received if e[0] not in ("message", "pong")]
    if got_msgs == want_msgs and got_pongs == want_pongs and not others:
        p.behavior = "OK"
        p.result = "All %d echoes and %d pongs matched." % (len(want_msgs), len(want_pongs))
    else:
        p.behavior = "FAILED"
        first = next((i for i, (a, b) in enumerate(zip(got_msgs, want_msgs)) if a != b), None)
        p.result = "got %d/%d messages, %d/%d pongs; first differing message: %s" % (
            len(got_msgs), len(want_msgs), len(got_pongs), len(want_pongs), first)


for _i, (_seed, _count, _max) in enumerate([(1, 50, 200), (2, 100, 5000), (3, 40, 200000)], 1):
    CASES.append(CaseDef("M.1.%d" % _i, "Random valid traffic (seed %d): %d messages or pings, "
                         "sizes up to %d, random fragmentation, pings between fragments."
                         % (_seed, _count, _max),
                         "Pongs and echoes, in the order the server must produce them.",
                         _random_traffic(_seed, _count, _max), post=_random_post, timeout=30))


# --- X.x: frame-level MUSTs Autobahn cannot test (its peers always mask
# correctly and never send impossible lengths), both roles. ------------------

import engine                                   # noqa: E402
import wsproto                                  # noqa: E402

_XMASK = b"\x11\x22\x33\x44"


def _hdr(p, first, n_code, ext=b""):
    """A raw header: first byte, 7-bit length code, extended length bytes,
    plus the mask bit and key when the fuzzer is the client."""
    if p.is_server:
        return bytes([first, n_code]) + ext
    return bytes([first, 0x80 | n_code]) + ext + _XMASK


def _payload(p, data):
    return data if p.is_server else wsproto.xor_mask(data, _XMASK)


def _x_fail(cid, desc, codes, send):
    def run(p):
        p.expect(OK=[])
        p.expect_close(False, codes, False)
        send(p)
        p.kill_after(2)
    CASES.append(CaseDef(cid, desc, "The connection is failed with %s." %
                         " or ".join(map(str, codes)), run))


def _wrong_mask(p):
    if p.is_server:      # a server's frame must not be masked (RFC 6455 5.1)
        p.send_raw(wsproto.encode_frame(OP_TEXT, b"Hello, world!", mask=_XMASK))
    else:                # a client's frame must be masked
        p.send_raw(wsproto.encode_frame(OP_TEXT, b"Hello, world!"))


_x_fail("X.1.1", "A text frame with the wrong masking for the sender's role (a masked frame "
        "from the server, an unmasked one from the client).", [1002], _wrong_mask)
_x_fail("X.1.2", "Same as X.1.1 for a ping.", [1002],
        lambda p: p.send_raw(wsproto.encode_frame(OP_PING, b"ping", mask=_XMASK)
                             if p.is_server else wsproto.encode_frame(OP_PING, b"ping")))
_x_fail("X.1.3", "A binary frame whose 64-bit length has the most significant bit set "
        "(1009 accepted too: the length is also over any limit).",
        [1002, 1009], lambda p: p.send_raw(_hdr(p, 0x82, 127, b"\x80" + b"\x00" * 7) +
                                     _payload(p, b"\x00" * 16)))
_x_fail("X.1.4", "A binary frame announcing 2^40 bytes (over any sane message limit), then "
        "64 KiB of it.", [1009], lambda p: p.send_raw(
            _hdr(p, 0x82, 127, (1 << 40).to_bytes(8, "big")) + _payload(p, b"\x00" * 65536)))
_x_fail("X.1.5", "A text frame announcing 2^63 - 1 bytes, then 16 bytes of it.", [1009],
        lambda p: p.send_raw(_hdr(p, 0x81, 127, ((1 << 63) - 1).to_bytes(8, "big")) +
                             _payload(p, b"a" * 16)))
_x_fail("X.1.6", "A fragmented text message whose second fragment announces 2^40 bytes.",
        [1009], lambda p: (p.send_frame(OP_TEXT, b"first", fin=False),
                           p.send_raw(_hdr(p, 0x80, 127, (1 << 40).to_bytes(8, "big")) +
                                      _payload(p, b"b" * 1024))))


def _nonminimal(cid, desc, n_code, ext):
    payload = b"Hello, world!"

    def run(p):
        p.expect(OK=[msg(payload)])
        p.expect_close(True, [1000], True)
        p.send_raw(_hdr(p, 0x81, n_code, ext) + _payload(p, payload))
        p.kill_after(1)

    def post(p):
        got = "echoed it" if p.behavior == engine.OK else (
            "failed with %s" % p.remote_close_code if p.remote_close_code else "did not echo it")
        p.result = "Length encoding is not minimal (a MUST for the sender, RFC 6455 5.2); " \
                   "the peer %s." % got
        p.behavior = engine.INFORMATIONAL
        p.behavior_close = engine.INFORMATIONAL
    CASES.append(CaseDef(cid, desc, "Either echo or fail with 1002 (informational).", run,
                         post=post))


_nonminimal("X.2.1", "A 13-byte text frame with its length in the 16-bit field.", 126,
            (13).to_bytes(2, "big"))
_nonminimal("X.2.2", "A 13-byte text frame with its length in the 64-bit field.", 127,
            (13).to_bytes(8, "big"))


# --- C.x: the client's checks of the server's opening handshake (client role
# only). After a bad answer the fuzzing server sends a text frame anyway; the
# client must close TCP without echoing it (or sending anything). -----------

def _response(key, status="HTTP/1.1 101 Switching Protocols", drop=(), headers=None,
              extra=()):
    h = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
         ("Sec-WebSocket-Accept", wsproto.accept_key(key))]
    over = dict((k.lower(), (k, v)) for k, v in (headers or {}).items())
    lines = [status]
    for name, value in h:
        if name.lower() in drop:
            continue
        if name.lower() in over:
            name, value = over.pop(name.lower())
        lines.append("%s: %s" % (name, value))
    for name, value in over.values():
        lines.append("%s: %s" % (name, value))
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _client_rejects(cid, desc, make, into=None, with_offer=False):
    """into: the case list (default this module's); with_offer: make(key,
    offer) gets the client's Sec-WebSocket-Extensions offer too."""
    def run(p):
        p.send_frame(OP_TEXT, b"must not be echoed")
        p.at(3 * engine.TIME_SCALE, p.drop)

    def post(p):
        frames = sum(p.rx_frames.values())
        if frames and p.rx_frames[0x8] == frames:
            p.behavior = engine.NON_STRICT
            p.result = "The client rejected the answer but sent a close frame."
        elif frames:
            p.behavior = engine.FAILED
            p.result = "The client accepted the answer: it sent %d frame(s) %s." % (
                frames, dict(p.rx_frames))
        elif p.dropped_by_me:
            p.behavior = engine.FAILED
            p.result = "The client kept the connection open (no close within %.0f s)." % (
                3 * engine.TIME_SCALE)
        else:
            p.behavior = engine.OK
            p.result = "The client closed the connection without a frame."
        p.behavior_close = engine.OK if p.behavior != engine.FAILED else engine.FAILED
        p.result_close = p.result
    case = CaseDef(cid, desc, "The client fails the opening handshake: it closes TCP "
                   "and sends no frame.", run, post=post, roles={"client"}, hs_response=make)
    case.hs_response_offer = with_offer
    (CASES if into is None else into).append(case)


_client_rejects("C.1.1", "101 with a Sec-WebSocket-Accept computed from another key.",
                lambda k: _response(k, headers={"Sec-WebSocket-Accept":
                                                wsproto.accept_key("x" + k[1:])}))
_client_rejects("C.1.2", "101 without Sec-WebSocket-Accept.",
                lambda k: _response(k, drop=("sec-websocket-accept",)))
_client_rejects("C.1.3", "200 OK with otherwise valid upgrade headers.",
                lambda k: _response(k, status="HTTP/1.1 200 OK"))
_client_rejects("C.1.4", "101 without Upgrade.", lambda k: _response(k, drop=("upgrade",)))
_client_rejects("C.1.5", "101 with Upgrade: h2c.", lambda k: _response(k, headers={"Upgrade": "h2c"}))
_client_rejects("C.1.6", "101 without Connection.", lambda k: _response(k, drop=("connection",)))
_client_rejects("C.1.7", "101 selecting an extension that was not offered (x-webkit-deflate-frame).",
                lambda k: _response(k, headers={"Sec-WebSocket-Extensions":
                                                "x-webkit-deflate-frame"}))
_client_rejects("C.1.8", "101 selecting a subprotocol that was not offered (chat).",
                lambda k: _response(k, headers={"Sec-WebSocket-Protocol": "chat"}))
_client_rejects("C.1.9", "Status line HTTP/1.0 101.",
                lambda k: _response(k, status="HTTP/1.0 101 Switching Protocols"))
_client_rejects("C.1.10", "101 with a header block over 8 KiB (wick's default "
                "WICK_MAX_HEADER_BYTES; not an RFC limit).",
                lambda k: _response(k, extra=["X-Pad-%d: %s" % (i, "p" * 1000)
                                              for i in range(12)]))
_client_rejects("C.1.11", "101 with two Sec-WebSocket-Accept headers (one wrong).",
                lambda k: _response(k, extra=["Sec-WebSocket-Accept: %s"
                                              % wsproto.accept_key("x" + k[1:])]))


def _client_accepts(cid, desc, make, first_frame=None):
    payload = b"Hello, world!"

    def run(p):
        p.expect(OK=[msg(payload)])
        p.expect_close(True, [1000], True)
        if first_frame is None:
            p.send_frame(OP_TEXT, payload)
        p.kill_after(1)
    CASES.append(CaseDef(cid, desc, "The client accepts the answer and echoes the message.", run,
                         roles={"client"}, hs_response=make))


_client_accepts("C.2.1", "Valid 101 in unusual spelling: lower-case names, Upgrade: WebSocket, "
                "Connection: keep-alive, upgrade, extra Server and Date headers.",
                lambda k: ("HTTP/1.1 101 Web Socket Protocol Handshake\r\n"
                           "server: conformance\r\nupgrade: WebSocket\r\n"
                           "connection: keep-alive, upgrade\r\ndate: Tue, 24 Nov 2026 00:00:00 GMT"
                           "\r\nsec-websocket-accept: %s\r\n\r\n" % wsproto.accept_key(k)
                           ).encode())
_client_accepts("C.2.2", "Valid 101 followed by the first frame in the same write (pipelined).",
                lambda k: _response(k) + wsproto.encode_frame(OP_TEXT, b"Hello, world!"),
                first_frame=True)
