"""Cases 6.x: UTF-8 handling, numbered as in Autobahn|Testsuite.

6.5 to 6.23 come from Markus Kuhn's UTF-8 decoder capability and stress test
in the same order and grouping Autobahn uses, so case 6.N.M here is the same
byte sequence as Autobahn's 6.N.M. Validity is decided by Python's strict
UTF-8 decoder (RFC 3629: no overlongs, no surrogates, nothing above
U+10FFFF)."""

from engine import CaseDef, msg
from wsproto import OP_CONT, OP_TEXT, utf8_valid

CASES = []

KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"   # "κόσμε"
HELLO = "Hello-µ@ßöäüàá-UTF-8!!".encode("utf-8")


def _echo_text(cid, desc, payload, fragment_size=None, frames=None):
    def run(p):
        p.expect(OK=[msg(payload)])
        p.expect_close(True, [1000], True)
        if frames is not None:
            for i, part in enumerate(frames):
                p.send_frame(OP_TEXT if i == 0 else OP_CONT, part, fin=(i == len(frames) - 1))
        else:
            p.send_message(payload, False, fragment_size)
        p.close_after(1)
    CASES.append(CaseDef(cid, desc, "The message is echo'ed back to us.", run))


_echo_text("6.1.1", "Send text message of length 0.", b"")
_echo_text("6.1.2", "Send fragmented text message, 3 fragments each of length 0.", b"",
           frames=[b"", b"", b""])
_echo_text("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0, "
           "middle non-empty.", b"middle frame payload",
           frames=[b"", b"middle frame payload", b""])
_echo_text("6.2.1", "Send a valid UTF-8 text message in one fragment. MESSAGE: %s" % HELLO.hex(),
           HELLO)
_echo_text("6.2.2", "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code "
           "point boundary.", HELLO, frames=["Hello-µ@ßöä".encode(), "üàá-UTF-8!!".encode()])
_echo_text("6.2.3", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames "
           "ending on positions which are not code point ends.", HELLO, fragment_size=1)
_echo_text("6.2.4", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames "
           "ending on positions which are not code point ends. MESSAGE: %s" % KOSME.hex(),
           KOSME, fragment_size=1)

INVALID_63 = KOSME + b"\xed\xa0\x80" + b"edited"


def _invalid_text(cid, desc, payload, fragment_size=None, kill=1.0):
    def run(p):
        p.expect(OK=[])
        p.expect_close(False, [1007], False, wrong_endpoint_fatal=True)
        p.send_message(payload, False, fragment_size)
        p.kill_after(kill)
    CASES.append(CaseDef(cid, desc, "The connection is failed immediately, since the payload is "
                         "not valid UTF-8.", run))


_invalid_text("6.3.1", "Send invalid UTF-8 text message unfragmented. MESSAGE: %s"
              % INVALID_63.hex(), INVALID_63)
_invalid_text("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet, resulting in "
              "frames ending on positions which are not code point ends. MESSAGE: %s"
              % INVALID_63.hex(), INVALID_63, fragment_size=1)

# 6.4.x: fail fast. The peer must fail the connection after part 2 (the
# bytes that make the text invalid) and before part 3 is sent one second
# later. Failing only after part 3 is NON-STRICT.
FF = KOSME + b"\xf4\x90\x80\x80" + b"edited"     # \x90 (offset 12) is the first bad byte


def _fail_fast(cid, desc, parts, one_frame):
    def run(p):
        p.expect(OK=[("timeout", "A")], NON_STRICT=[("timeout", "A"), ("timeout", "B")])
        p.expect_close(False, [1007], False, wrong_endpoint_fatal=True)
        if one_frame:
            # One frame announcing the whole length, its payload sent in 3 chops.
            hdr_and_first = _frame_prefix(p, len(FF))
            p.data["mask_phase"] = 0
            p.send_raw(hdr_and_first + _maybe_mask(p, parts[0]))
        else:
            p.send_frame(OP_TEXT, parts[0], fin=False)

        def part2():
            if not p.is_open():
                return
            p.received.append(("timeout", "A"))
            if one_frame:
                p.send_raw(_maybe_mask(p, parts[1]))
            else:
                p.send_frame(OP_CONT, parts[1], fin=False)
            p.continue_later(1, part3)

        def part3():
            if not p.is_open():
                return
            p.received.append(("timeout", "B"))
            if one_frame:
                p.send_raw(_maybe_mask(p, parts[2]))
            else:
                p.send_frame(OP_CONT, parts[2], fin=True)
            p.kill_after(1)
        p.continue_later(1, part2)
    CASES.append(CaseDef(cid, desc, "The connection is failed immediately (1007), after the "
                         "second part and before the third is sent (fail fast).", run))


_MASK = b"\x5a\x13\xc4\x7e"


def _frame_prefix(p, n):
    """Header of one final text frame of n payload bytes (masked when the
    fuzzer is the client)."""
    import wsproto
    if p.is_server:
        return wsproto.encode_frame(OP_TEXT, b"", length=n)
    return wsproto.encode_frame(OP_TEXT, b"", mask=_MASK, length=n)


def _maybe_mask(p, chunk):
    """Masks a chop of the frame's payload, continuing the key phase."""
    if p.is_server:
        return chunk
    phase = p.data.get("mask_phase", 0)
    out = bytes(b ^ _MASK[(phase + i) % 4] for i, b in enumerate(chunk))
    p.data["mask_phase"] = (phase + len(chunk)) % 4
    return out


_fail_fast("6.4.1", "Send invalid UTF-8 text message in 3 fragments (frames). First frame payload "
           "is valid, then wait, then 2nd frame which contains the payload making the sequence "
           "invalid, then wait, then 3rd frame with rest. PART1 = %s, PART2 = %s (0x110000), "
           "PART3 = %s" % (FF[:11].hex(), FF[11:15].hex(), FF[15:].hex()),
           [FF[:11], FF[11:15], FF[15:]], False)
_fail_fast("6.4.2", "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the "
           "octet making the complete payload invalid. PART1 = %s, PART2 = %s, PART3 = %s"
           % (FF[:12].hex(), FF[12:13].hex(), FF[13:].hex()),
           [FF[:12], FF[12:13], FF[13:]], False)
_fail_fast("6.4.3", "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of "
           "the same message frame.", [FF[:11], FF[11:15], FF[15:]], True)
_fail_fast("6.4.4", "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of "
           "the same message frame.", [FF[:12], FF[12:13], FF[13:]], True)


def utf8_sequences():
    """(title, [(valid, bytes), ...]) groups for 6.5 .. 6.23."""
    groups = []
    groups.append(("Some valid UTF-8 sequences",
                   [b"hello\x24world", b"hello\xc2\xa2world", b"hello\xe2\x82\xacworld",
                    b"hello\xf0\xa4\xad\xa2world", KOSME]))
    groups.append(("All prefixes of a valid UTF-8 string that contains multi-byte code points",
                   [KOSME[:i] for i in range(1, len(KOSME) + 1)]))
    groups.append(("First possible sequence of a certain length",
                   [b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]))
    groups.append(("First possible sequence length 5/6 (invalid codepoints)",
                   [b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"]))
    groups.append(("Last possible sequence of a certain length",
                   [b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]))
    groups.append(("Last possible sequence length 4/5/6 (invalid codepoints)",
                   [b"\xf7\xbf\xbf\xbf", b"\xfb\xbf\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf\xbf"]))
    groups.append(("Other boundary conditions",
                   [b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbd", b"\xf4\x8f\xbf\xbf",
                    b"\xf4\x90\x80\x80"]))
    groups.append(("Unexpected continuation bytes",
                   [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80", b"\x80\xbf\x80\xbf",
                    b"\x80\xbf\x80\xbf\x80", b"\x80\xbf\x80\xbf\x80\xbf",
                    bytes(range(0x80, 0xbf))]))
    groups.append(("Lonely start characters",
                   [b"".join(bytes([c, 0x20]) for c in range(lo, hi))
                    for lo, hi in [(0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb),
                                   (0xfc, 0xfd)]]))
    missing = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
               b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    groups.append(("Sequences with last continuation byte missing", missing))
    groups.append(("Concatenation of incomplete sequences", [b"".join(missing)]))
    groups.append(("Impossible bytes", [b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"]))
    groups.append(("Examples of an overlong ASCII character",
                   [b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xf8\x80\x80\x80\xaf",
                    b"\xfc\x80\x80\x80\x80\xaf"]))
    groups.append(("Maximum overlong sequences",
                   [b"\xc1\xbf", b"\xe0\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xf8\x87\xbf\xbf\xbf",
                    b"\xfc\x83\xbf\xbf\xbf\xbf"]))
    groups.append(("Overlong representation of the NUL character",
                   [b"\xc0\x80", b"\xe0\x80\x80", b"\xf0\x80\x80\x80", b"\xf8\x80\x80\x80\x80",
                    b"\xfc\x80\x80\x80\x80\x80"]))
    singles = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf", b"\xed\xb0\x80",
               b"\xed\xbe\x80", b"\xed\xbf\xbf"]
    groups.append(("Single UTF-16 surrogates", singles))
    highs = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf"]
    groups.append(("Paired UTF-16 surrogates",
                   [h + lo for h in highs for lo in (b"\xed\xb0\x80", b"\xed\xbf\xbf")]))
    nonchars = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for z1 in (0xf0, 0xf1, 0xf2, 0xf3, 0xf4):
        for z2 in (0x8f, 0x9f, 0xaf, 0xbf):
            if z1 == 0xf4 and z2 != 0x8f:
                continue      # above U+10FFFF
            for z3 in (0xbe, 0xbf):
                seq = bytes([z1, z2, 0xbf, z3])
                if seq not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):   # overlong
                    nonchars.append(seq)
    groups.append(("Non-character code points (valid UTF-8)", nonchars))
    groups.append(("Unicode specials (i.e. replacement char)",
                   [b"\xef\xbf\xb9", b"\xef\xbf\xba", b"\xef\xbf\xbb", b"\xef\xbf\xbc",
                    b"\xef\xbf\xbd", b"\xef\xbf\xbe", b"\xef\xbf\xbf"]))
    return [(title, [(utf8_valid(s), s) for s in seqs]) for title, seqs in groups]


def _add_kuhn():
    for gi, (title, seqs) in enumerate(utf8_sequences(), 5):
        for si, (valid, payload) in enumerate(seqs, 1):
            cid = "6.%d.%d" % (gi, si)
            if valid:
                def run(p, payload=payload):
                    p.expect(OK=[msg(payload)])
                    p.expect_close(True, [1000], True)
                    p.send_message(payload)
                    p.kill_after(0.5)
                desc = "Send a text message with payload which is valid UTF-8 in one fragment " \
                       "(%s). Payload: 0x%s" % (title, payload.hex())
                exp = "The message is echo'ed back to us."
            else:
                def run(p, payload=payload):
                    p.expect(OK=[])
                    p.expect_close(False, [1007], False, wrong_endpoint_fatal=True)
                    p.send_message(payload)
                    p.kill_after(0.5)
                desc = "Send a text message with payload which is not valid UTF-8 in one " \
                       "fragment (%s). Payload: 0x%s" % (title, payload.hex())
                exp = "The connection is failed immediately, since the payload is not valid UTF-8."
            CASES.append(CaseDef(cid, desc, exp, run))


_add_kuhn()
