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
