"""permessage-deflate (RFC 7692) cases, D.x. The fuzzer's side compresses
and inflates with Python's zlib (wsproto.Deflate), with windows of exactly
the agreed size and a fresh inflater per message when the peer said it
resets its context, so a peer that compresses outside what it agreed fails.

  D.1  negotiation (server role): offers with each parameter, invalid
       offers declined, several offers; the answer is checked against
       RFC 7692 7.1 and one message is echoed.
  D.2  compressed messages of many sizes and fragmentations.
  D.3  compressed and uncompressed messages interleaved, with pings.
  D.4  context takeover on and off, small windows (9 and 8 bits).
  D.5  violations: RSV1 on a control frame or a continuation (1002),
       invalid deflate data (1007), a decompression bomb (1009, before
       the message ends), invalid UTF-8 inside compressed text (1007).
  D.6  one compressed message split at every byte.
  D.7  the client's checks of the server's answer (client role).

In the server role the fuzzing client offers `offer`; in the client role
the fuzzing server answers the client's offer with answer(offer)."""

import random
import zlib

import cases_extra
import engine
import wsproto
from engine import CaseDef, msg, pong
from wsproto import OP_CONT, OP_TEXT, OP_BINARY, OP_PING, OP_CLOSE

CASES = []

OFFER = "permessage-deflate; client_max_window_bits"


def mirror(*extra):
    """An answer function: accepts the client's first permessage-deflate
    offer with what it asked for (windows as offered), plus `extra`."""
    def answer(offer):
        for name, params in wsproto.parse_extensions(offer):
            if name != wsproto.PMD:
                continue
            out = [wsproto.PMD]
            for k, v in params:
                if k == "client_max_window_bits" and v is None:
                    continue
                out.append(k if v is None else "%s=%s" % (k, v))
            out += [x for x in extra if x.split("=")[0] not in dict(params)]
            return "; ".join(out)
        return None
    return answer


def _post_pmd(min_compressed):
    """Fails a case where compression was not agreed, or where the peer
    sent fewer than min_compressed messages compressed."""
    def post(p):
        why = p.data.get("neg")
        if why is None and p.pmd is None:
            why = "permessage-deflate was not agreed (answer %r)" % p.pmd_answer
        if why is None and p.rx_compressed < min_compressed:
            why = "the peer compressed %d of its messages, expected at least %d" % (
                p.rx_compressed, min_compressed)
        if why is not None:
            p.behavior = engine.FAILED
            p.result = why
    return post


def dcase(cid, desc, expectation, run, offer=OFFER, answer=None, roles=None, post=None,
          min_compressed=0, timeout=None):
    c = CaseDef(cid, desc, expectation, run, post=post or _post_pmd(min_compressed),
                roles=roles, timeout=timeout)
    c.offer = offer
    c.answer = answer or mirror()
    CASES.append(c)
    return c


_rng = random.Random(7692)
_WORDS = ["wick", "deflate", "frame", "window", "\u00e9t\u00e9", "\u20ac", "\u4e2d\u6587",
          "\U0001f600", "context", "takeover", "0123456789", "{\"k\":1}"]


def payload(n, binary, seed=0):
    """n bytes that compress, but not to nothing: words (text) or a mix of
    random and repeated bytes (binary)."""
    rng = random.Random(seed * 1000003 + n)
    if binary:
        block = bytes(rng.randrange(256) for _ in range(64)) + b"\x00" * 64
        return (block * (n // 128 + 1))[:n]
    out = []
    size = 0
    while size < n:
        w = rng.choice(_WORDS) + " "
        out.append(w)
        size += len(w.encode())
    s = "".join(out).encode()[:n]
    while True:  # cut on a character boundary, pad with ASCII
        try:
            s.decode()
            break
        except UnicodeDecodeError:
            s = s[:-1]
    return s + b"x" * (n - len(s))


def _echo_run(msgs, kill=3):
    """msgs: (payload, binary, fragment, compress) tuples, or ("ping", data)."""
    def run(p):
        exp = []
        for m in msgs:
            if m[0] == "ping":
                p.send_frame(OP_PING, m[1])
                exp.append(pong(m[1]))
                continue
            data, binary, frag, comp = m
            p.send_message(data, binary, frag, compress=comp)
            exp.append(msg(data, binary))
        p.expect(OK=exp)
        p.expect_close(True, [1000], True)
        p.kill_after(kill)
    return run


def _fail_run(code, send, kill=2):
    def run(p):
        p.expect(OK=[])
        p.expect_close(False, [code], False, wrong_endpoint_fatal=True)
        send(p)
        p.kill_after(kill)
    return run


# --- D.1: negotiation (server role) ---------------------------------------

def _neg(cid, offer, accept_index, desc):
    """accept_index: which offer (0-based) the server must accept, or None
    when it must decline them all."""
    offers = wsproto.parse_extensions(offer)
    data = payload(300, False, 1)

    def run(p):
        exts = wsproto.parse_extensions(p.pmd_answer)
        if accept_index is None:
            if exts:
                p.data["neg"] = "the server accepted an offer it must decline: %r" % p.pmd_answer
        elif len(exts) != 1 or exts[0][0] != wsproto.PMD:
            p.data["neg"] = "expected one permessage-deflate answer, got %r" % p.pmd_answer
        else:
            why = wsproto.pmd_check_answer(offers[accept_index][1], exts[0][1])
            if why:
                p.data["neg"] = "answer %r: %s" % (p.pmd_answer, why)
        _echo_run([(data, False, None, None)])(p)

    def post(p):
        why = p.data.get("neg")
        if why is None and accept_index is not None and p.rx_compressed == 0:
            why = "the server agreed but did not compress its echo"
        if why is None and accept_index is None and p.rx_compressed:
            why = "compressed echo without an agreement"
        if why:
            p.behavior = engine.FAILED
            p.result = why
    c = CaseDef(cid, "Offer %r: %s" % (offer, desc),
                "The answer follows RFC 7692 7.1 and the echo works.", run, post=post,
                roles={"server"})
    c.offer = offer
    CASES.append(c)


_N = [0]


def _neg_next(offer, accept_index, desc):
    _N[0] += 1
    _neg("D.1.%d" % _N[0], offer, accept_index, desc)


P = wsproto.PMD
_neg_next(P, 0, "no parameter: accepted.")
_neg_next(P + "; server_no_context_takeover", 0, "accepted, answered.")
_neg_next(P + "; client_no_context_takeover", 0, "accepted.")
for _b in range(8, 16):
    _neg_next(P + "; server_max_window_bits=%d" % _b, 0, "accepted with a window at most %d."
              % _b)
_neg_next(P + "; client_max_window_bits", 0, "accepted (the server may limit our window).")
for _b in range(8, 16):
    _neg_next(P + "; client_max_window_bits=%d" % _b, 0, "accepted; our window at most %d."
              % _b)
_neg_next(P + "; server_no_context_takeover; client_no_context_takeover; "
          "server_max_window_bits=10; client_max_window_bits=10", 0, "every parameter.")
_neg_next(P + '; server_max_window_bits="10"', 0, "a quoted value is valid (RFC 7692 7.1).")
for _bad, _why in [("server_max_window_bits=7", "window below 8"),
                   ("server_max_window_bits=16", "window above 15"),
                   ("server_max_window_bits=010", "leading zero"),
                   ("server_max_window_bits", "server_max_window_bits without a value"),
                   ("client_max_window_bits=7", "client window below 8"),
                   ("client_max_window_bits=16", "client window above 15"),
                   ("client_max_window_bits=abc", "client window not a number"),
                   ("x_unknown=1", "unknown parameter"),
                   ("server_no_context_takeover=1", "a value on a flag"),
                   ("server_no_context_takeover; server_no_context_takeover", "repeated flag"),
                   ("server_max_window_bits=10; server_max_window_bits=10", "repeated window")]:
    _neg_next(P + "; " + _bad, None, "invalid (%s): declined." % _why)
_neg_next(P + "; server_max_window_bits=7, " + P + "; client_max_window_bits=10", 1,
          "the first is invalid: the second is accepted.")
_neg_next(P + "; client_max_window_bits=9, " + P, 0, "two valid: the first is accepted.")
_neg_next("x-webkit-deflate-frame, " + P + "; server_no_context_takeover", 1,
          "an unknown extension first: permessage-deflate accepted.")


# --- D.2: compressed messages of all sizes and fragmentations --------------

_SIZES = [0, 1, 125, 126, 127, 1000, 65535, 65536, 1 << 20]
_n = 0
for _size in _SIZES:
    for _frag in (None, 1, 1000):
        if _frag == 1 and _size > 1000:
            continue  # a frame per compressed byte: enough at 1000 bytes
        for _binary in (False, True):
            _n += 1
            _data = payload(_size, _binary, _n)
            dcase("D.2.%d" % _n, "A %s message of %d bytes, compressed%s." % (
                "binary" if _binary else "text", _size,
                ", in frames of %d compressed bytes" % _frag if _frag else ""),
                "Echoed as sent.", _echo_run([(_data, _binary, _frag, True)], kill=4),
                min_compressed=1 if _size >= 100 else 0)
_n += 1
dcase("D.2.%d" % _n, "A 4 MiB binary message, compressed, in 64 KiB frames.", "Echoed as sent.",
      _echo_run([(payload(4 << 20, True, 99), True, 65536, True)], kill=8), min_compressed=1,
      timeout=30)

# --- D.3: compressed and uncompressed interleaved -------------------------

_mix = []
for _i in range(12):
    _d = payload(_rng.choice([0, 10, 200, 5000, 70000]), _i % 3 == 0, 100 + _i)
    _mix.append((_d, _i % 3 == 0, _rng.choice([None, None, 7, 1500]), _i % 2 == 0))
    if _i % 4 == 3:
        _mix.append(("ping", b"p%d" % _i))
dcase("D.3.1", "Twelve messages alternating compressed and uncompressed, some fragmented, "
      "with pings in between.", "Every message echoed as sent, pongs in order.",
      _echo_run(_mix, kill=4), min_compressed=1)
dcase("D.3.2", "An uncompressed message between two compressed ones that share context.",
      "Echoed as sent.", _echo_run([(payload(3000, False, 7), False, None, True),
                                    (payload(3000, False, 8), False, None, False),
                                    (payload(3000, False, 7), False, None, True)]),
      min_compressed=1)

# --- D.4: context takeover and windows ------------------------------------

_similar = [("{\"seq\": %d, \"user\": \"wick\", \"text\": \"%s\"}" % (
    i, "hello " * (i % 5 + 1))).encode() * 8 for i in range(20)]
_takeover = [(m, False, None, True) for m in _similar]
dcase("D.4.1", "Twenty similar messages, our compressor keeping its context (each refers "
      "to the ones before).", "Echoed as sent.", _echo_run(_takeover), min_compressed=10)
dcase("D.4.2", "Twenty similar messages with server_no_context_takeover and "
      "client_no_context_takeover agreed: each side resets after every message (checked: "
      "each echo is inflated alone).", "Echoed as sent.", _echo_run(_takeover),
      offer=P + "; server_no_context_takeover; client_no_context_takeover",
      answer=mirror("server_no_context_takeover", "client_no_context_takeover"),
      min_compressed=10)


def _reset_on_our_own(p):
    if p.pmd is not None:
        p.pmd.send_reset = True
    _echo_run(_takeover)(p)


dcase("D.4.3", "Twenty similar messages, our compressor resetting on its own (always "
      "allowed) without any parameter.", "Echoed as sent.", _reset_on_our_own,
      min_compressed=10)
_win = [(payload(n, b, 300 + n), b, f, True) for n, b, f in
        [(65536, False, None), (65536, True, 4096), (300, False, None), (100000, True, None)]]
dcase("D.4.4", "9-bit windows both ways (server_max_window_bits=9, client_max_window_bits=9): "
      "64 KiB and larger messages.", "Echoed as sent; the peer's data inflates with a 512-byte "
      "window.", _echo_run(_win), offer=P + "; server_max_window_bits=9; client_max_window_bits=9",
      answer=mirror("server_max_window_bits=9", "client_max_window_bits=9"), min_compressed=3)
dcase("D.4.5", "8-bit windows both ways (zlib deflates with 9 bits, which reaches back at "
      "most 250 bytes: safe for a 256-byte window).", "Echoed as sent; the peer's data "
      "inflates with a 256-byte window.", _echo_run(_win),
      offer=P + "; server_max_window_bits=8; client_max_window_bits=8",
      answer=lambda o: "%s; server_max_window_bits=8; client_max_window_bits=8" % P,
      min_compressed=3)

# --- D.5: violations -------------------------------------------------------


def _compressed_frame(p, data, reset=False):
    return p.pmd.compress(data, reset) if p.pmd else b""


dcase("D.5.1", "A ping with RSV1 set (control frames are never compressed).",
      "The connection is failed with 1002.",
      _fail_run(1002, lambda p: p.send_frame(OP_PING, b"ping", rsv=4)))
dcase("D.5.2", "A close frame with RSV1 set.", "The connection is failed with 1002.",
      _fail_run(1002, lambda p: p.send_frame(OP_CLOSE, b"\x03\xe8", rsv=4)))
dcase("D.5.3", "A compressed message whose continuation frame also has RSV1.",
      "The connection is failed with 1002.",
      _fail_run(1002, lambda p: (lambda c: (p.send_frame(OP_TEXT, c[:5], fin=False, rsv=4),
                                            p.send_frame(OP_CONT, c[5:], rsv=4)))(
          _compressed_frame(p, payload(2000, False, 5)))))
dcase("D.5.4", "RSV2 on a compressed message (only RSV1 is permessage-deflate's).",
      "The connection is failed with 1002.",
      _fail_run(1002, lambda p: p.send_frame(OP_TEXT, _compressed_frame(p, b"hello"), rsv=6)))
dcase("D.5.5", "RSV1 on a message when permessage-deflate was declined (invalid offer).",
      "The connection is failed with 1002.",
      _fail_run(1002, lambda p: p.send_frame(OP_TEXT, zlib.compress(b"hello")[2:-4], rsv=4)),
      offer=P + "; server_max_window_bits=7", answer=lambda o: None, roles={"server"},
      post=lambda p: None)
dcase("D.5.6", "Invalid deflate data (a block of reserved type 3).",
      "The connection is failed with 1007.",
      _fail_run(1007, lambda p: p.send_frame(OP_TEXT, b"\xff\xff\xff\xff", rsv=4)))
dcase("D.5.7", "A compressed message whose second frame is garbage.",
      "The connection is failed with 1007.",
      _fail_run(1007, lambda p: (p.send_frame(OP_BINARY, _compressed_frame(p, b"a" * 100)[:3],
                                              fin=False, rsv=4),
                                 p.send_frame(OP_CONT, b"\xff" * 40))))
dcase("D.5.8", "A compressed message ending inside a deflate block (truncated stream: the "
      "last frame cuts a stored block short).", "The connection is failed with 1007.",
      _fail_run(1007, lambda p: p.send_frame(OP_TEXT, b"\x00\x10\x00\xef\xffabc", rsv=4)))

_BOMB = []


def _bomb():
    """80 MiB of zeros compressed (about 360 KiB): over the 64 MiB message
    limit of the examples once inflated."""
    if not _BOMB:
        c = zlib.compressobj(1, zlib.DEFLATED, -15)  # level 1: 4x faster here
        _BOMB.append(c.compress(b"\x00" * (80 << 20)) + c.flush(zlib.Z_SYNC_FLUSH))
    return _BOMB[0]


def _send_bomb(p):
    # Never finished (no FIN): the peer must stop on the size limit while
    # inflating, not at the end of the message.
    b = _bomb()
    for i in range(0, len(b), 16384):
        p.send_frame(OP_BINARY if i == 0 else OP_CONT, b[i:i + 16384], fin=False,
                     rsv=4 if i == 0 else 0)


dcase("D.5.9", "A decompression bomb: 80 MiB of zeros in about 360 KiB of deflate data, in "
      "16 KiB frames, never finished.", "The connection is failed with 1009 before the "
      "message ends.", _fail_run(1009, _send_bomb, kill=5))
_bad_text = b"a" * 100 + b"\xc0\xaf" + b"b" * 100
dcase("D.5.10", "Invalid UTF-8 (overlong '/') inside a compressed text message.",
      "The connection is failed with 1007.",
      _fail_run(1007, lambda p: p.send_message(_bad_text, False, None, compress=True)))
dcase("D.5.11", "Invalid UTF-8 inside a compressed text message in 3-byte frames.",
      "The connection is failed with 1007.",
      _fail_run(1007, lambda p: p.send_message(_bad_text * 3, False, 3, compress=True)))
dcase("D.5.12", "A compressed text message ending inside a UTF-8 sequence.",
      "The connection is failed with 1007.",
      _fail_run(1007, lambda p: p.send_message(b"a" * 50 + b"\xe2\x82", False, None,
                                               compress=True)))


# --- D.6: every byte split -----------------------------------------------

def _every_split(p):
    text = "Hello, compressed world! \u00e9\u20ac Hello, compressed world!".encode()
    comp = p.pmd.compress(text, reset=True) if p.pmd else text
    m = p.mask_fn() if not p.is_server else None
    frame = wsproto.encode_frame(OP_TEXT, comp, True, 4 if p.pmd else 0, m)
    exp = []
    for k in range(1, len(frame)):
        p.send_raw(frame[:k], sync=True)
        p.send_raw(frame[k:], sync=True)
        exp.append(msg(text))
    p.expect(OK=exp)
    p.expect_close(True, [1000], True)
    p.kill_after(4)


dcase("D.6.1", "One compressed text frame (a fresh compressor each time) sent in two writes "
      "split at every byte position, one message per split.", "Every message echoed.",
      _every_split, min_compressed=1)


# --- D.7: the client's checks of the answer (client role) ----------------

def _above(offer):
    """An answer with a window one above what the client offered."""
    for name, params in wsproto.parse_extensions(offer):
        d = dict(params)
        s = d.get("server_max_window_bits")
        if s is not None and int(s) < 15:
            return "%s; server_max_window_bits=%d" % (P, int(s) + 1)
        c = d.get("client_max_window_bits")
        if c is not None and int(c) < 15:
            return "%s; client_max_window_bits=%d" % (P, int(c) + 1) + (
                "; server_max_window_bits=%s" % s if s else "")
    return P + "; server_max_window_bits=16"


def _smaller_client_window(answer):
    """answer with client_max_window_bits=10 (at most what any offer of a
    value allows here: the examples offer 13 or more)."""
    if answer is None:
        return None
    parts = [x for x in answer.split("; ") if not x.startswith("client_max_window_bits")]
    return "; ".join(parts + ["client_max_window_bits=10"])


for _i, (_ans, _why) in enumerate([
        (P + "; server_max_window_bits=7", "server_max_window_bits=7 (below 8)"),
        (P + "; client_max_window_bits=16", "client_max_window_bits=16 (above 15)"),
        (P + "; x_unknown", "an unknown parameter"),
        (P + "; server_no_context_takeover=1", "a value on a flag"),
        (P + "; server_no_context_takeover; server_no_context_takeover", "a repeated flag"),
        (P + ", " + P, "permessage-deflate twice")], 1):
    cases_extra._client_rejects(
        "D.7.%d" % _i, "101 answering permessage-deflate with %s." % _why,
        lambda k, a=_ans: cases_extra._response(k, headers={"Sec-WebSocket-Extensions": a}),
        into=CASES)
cases_extra._client_rejects(
    "D.7.7", "101 answering permessage-deflate with a window one above the client's offer.",
    lambda k, o: cases_extra._response(k, headers={"Sec-WebSocket-Extensions": _above(o)}),
    into=CASES, with_offer=True)
dcase("D.7.8", "101 answering with server_no_context_takeover that was not asked for "
      "(allowed, RFC 7692 7.1.1.1) and a smaller client window.", "The client accepts it "
      "and echoes compressed.", _echo_run([(payload(2000, False, 3), False, None, True)] * 3),
      roles={"client"}, answer=lambda o: _smaller_client_window(
          mirror("server_no_context_takeover")(o)), min_compressed=1)
