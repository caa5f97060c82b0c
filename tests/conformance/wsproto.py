"""Minimal WebSocket (RFC 6455) framing and handshake code for the
conformance suite.

Standard library only and independent of wick on purpose: a bug in wick's
codec cannot hide itself behind the same bug here. Nothing in this file
validates more than the suite needs; the suite sends invalid frames on
purpose, so the encoder accepts anything the wire format can carry.
"""

import base64
import hashlib
import os
import socket

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2)."""
    if isinstance(key, str):
        key = key.encode("latin-1")
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode("ascii")


def new_key():
    return base64.b64encode(os.urandom(16)).decode("ascii")


def xor_mask(data, mask):
    """XOR data with the 4-byte mask (masking == unmasking, RFC 6455 5.3).
    Uses big integers so megabytes cost milliseconds, not seconds."""
    n = len(data)
    if n == 0:
        return b""
    reps = mask * (n // 4 + 1)
    x = int.from_bytes(data, "big") ^ int.from_bytes(reps[:n], "big")
    return x.to_bytes(n, "big")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=None, length=None):
    """One frame. rsv is the 3-bit value (RSV1 = 4, RSV2 = 2, RSV3 = 1).
    mask: None (unmasked) or 4 bytes. length overrides the encoded payload
    length (to lie about it)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        hdr = bytes([b0, mbit | n])
    elif n < 65536:
        hdr = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        hdr = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if mask is not None:
        return hdr + mask + xor_mask(payload, mask)
    return hdr + payload


def close_payload(code=None, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    if code is None:
        return b""
    return code.to_bytes(2, "big") + reason


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "masked", "payload")

    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode = fin, rsv, opcode
        self.masked, self.payload = masked, payload

    def __repr__(self):
        return "Frame(op=%d fin=%d rsv=%d masked=%d len=%d)" % (
            self.opcode, self.fin, self.rsv, self.masked, len(self.payload))


class FrameError(Exception):
    pass


class FrameParser:
    """Incremental frame parser: feed() bytes, then next_frame() until
    None. Raises FrameError for a length with the top bit set."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def pending(self):
        return len(self.buf)

    def next_frame(self):
        b = self.buf
        if len(b) < 2:
            return None
        fin = bool(b[0] & 0x80)
        rsv = (b[0] >> 4) & 7
        op = b[0] & 0xF
        masked = bool(b[1] & 0x80)
        n = b[1] & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = int.from_bytes(b[2:4], "big")
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = int.from_bytes(b[2:10], "big")
            if n >> 63:
                raise FrameError("64-bit length with the top bit set")
            pos = 10
        mask = None
        if masked:
            if len(b) < pos + 4:
                return None
            mask = bytes(b[pos:pos + 4])
            pos += 4
        if len(b) < pos + n:
            return None
        payload = bytes(b[pos:pos + n])
        del b[:pos + n]
        if mask is not None:
            payload = xor_mask(payload, mask)
        return Frame(fin, rsv, op, masked, payload)


def utf8_valid(data):
    try:
        data.decode("utf-8", "strict")
        return True
    except UnicodeDecodeError:
        return False


# --- HTTP handshake -------------------------------------------------------

def read_http_head(sock, limit=65536, timeout=5.0):
    """Reads up to and including the blank line. Returns (head, rest) or
    (None, data) when the peer closed or the limit was hit first."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > limit:
            return None, data
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, OSError):
            return None, data
        if not chunk:
            return None, data
        data += chunk
    i = data.index(b"\r\n\r\n") + 4
    return data[:i], data[i:]


def parse_http_head(head):
    """Returns (start_line_parts, headers) where headers maps the lower-case
    name to a list of values."""
    lines = head.decode("latin-1").split("\r\n")
    start = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return start, headers


def client_request(host, path, key=None, extra=None, version="13"):
    key = key or new_key()
    lines = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: %s" % key,
             "Sec-WebSocket-Version: %s" % version]
    for h in extra or []:
        lines.append(h)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


def client_handshake(sock, host, path, timeout=5.0):
    """Performs the opening handshake as a client. Returns the bytes already
    received after the response head. Raises OSError on failure."""
    req, key = client_request(host, path)
    sock.sendall(req)
    head, rest = read_http_head(sock, timeout=timeout)
    if head is None:
        raise OSError("no handshake response")
    start, headers = parse_http_head(head)
    if len(start) < 2 or start[1] != "101":
        raise OSError("handshake refused: %s" % " ".join(start))
    if headers.get("sec-websocket-accept", [""])[0] != accept_key(key):
        raise OSError("bad Sec-WebSocket-Accept")
    return rest


def server_read_request(sock, timeout=5.0):
    """Reads a client's request head. Returns (start_line_parts, headers,
    rest). Raises OSError when none arrives."""
    head, rest = read_http_head(sock, timeout=timeout)
    if head is None:
        raise OSError("no handshake request")
    start, headers = parse_http_head(head)
    return start, headers, rest


def accept_response(key):
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
            % accept_key(key)).encode("latin-1")


def server_handshake(sock, timeout=5.0):
    """Reads a client's upgrade request and answers 101. Returns
    (target, rest). Raises OSError when the request is not acceptable."""
    head, rest = read_http_head(sock, timeout=timeout)
    if head is None:
        raise OSError("no handshake request")
    start, headers = parse_http_head(head)
    key = headers.get("sec-websocket-key", [None])[0]
    if start[0] != "GET" or key is None or \
            "websocket" not in headers.get("upgrade", [""])[0].lower():
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        raise OSError("bad upgrade request")
    sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                  % accept_key(key)).encode("latin-1"))
    return start[1], rest


# --- permessage-deflate (RFC 7692), the peer's side -------------------------

import zlib  # noqa: E402

PMD = "permessage-deflate"
PMD_TAIL = b"\x00\x00\xff\xff"  # RFC 7692 7.2.1: removed by the sender


def parse_extensions(value):
    """A Sec-WebSocket-Extensions value as [(name, [(param, value or None)])];
    quoted values are unquoted. Good enough for what the suite sends and
    what a correct peer answers; not a validator."""
    out = []
    for ext in (value or "").split(","):
        parts = [x.strip() for x in ext.split(";")]
        if not parts[0]:
            continue
        params = []
        for p in parts[1:]:
            name, eq, val = p.partition("=")
            val = val.strip()
            if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
                val = val[1:-1]
            params.append((name.strip(), val if eq else None))
        out.append((parts[0], params))
    return out


def pmd_check_answer(offer, answer):
    """Checks a server's answer against the offer it accepted (RFC 7692
    7.1), both as parse_extensions() lists of one entry's params. Returns
    None when valid, else what is wrong."""
    o = dict(offer)
    names = [n for n, _ in answer]
    if len(names) != len(set(names)):
        return "a parameter is repeated"
    for name, val in answer:
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if val is not None:
                return "%s has a value" % name
        elif name in ("server_max_window_bits", "client_max_window_bits"):
            if val is None or not val.isdigit() or val[0] == "0" or not 8 <= int(val) <= 15:
                return "%s=%s is not 8-15" % (name, val)
        else:
            return "unknown parameter %s" % name
    a = dict(answer)
    if "server_no_context_takeover" in o and "server_no_context_takeover" not in a:
        return "server_no_context_takeover was offered but not answered"
    if "server_max_window_bits" in o:
        if "server_max_window_bits" not in a:
            return "server_max_window_bits was offered but not answered"
        if int(a["server_max_window_bits"]) > int(o["server_max_window_bits"]):
            return "server_max_window_bits above the offer"
    if "client_max_window_bits" in a:
        if "client_max_window_bits" not in o:
            return "client_max_window_bits answered but not offered"
        ov = o["client_max_window_bits"]
        if ov is not None and int(a["client_max_window_bits"]) > int(ov):
            return "client_max_window_bits above the offer"
    return None


class Deflate:
    """One endpoint's permessage-deflate state for the agreed parameters
    (a dict of the answer's params). The compressor uses at least 9 bits
    (zlib cannot deflate with 8; a 9-bit zlib window never reaches back
    more than 256 bytes, so a peer with 8 bits is safe)."""

    def __init__(self, is_server, params):
        p = dict(params)
        ours, theirs = ("server", "client") if is_server else ("client", "server")
        self.send_bits = int(p.get(ours + "_max_window_bits") or 15)
        self.recv_bits = int(p.get(theirs + "_max_window_bits") or 15)
        self.send_reset = (ours + "_no_context_takeover") in p
        self.recv_reset = (theirs + "_no_context_takeover") in p
        self.comp = None
        self.decomp = None

    def compress(self, data, reset=False):
        """One message's compressed payload; reset: start from an empty
        window (always allowed for the sender)."""
        if self.comp is None or self.send_reset or reset:
            self.comp = zlib.compressobj(6, zlib.DEFLATED, -max(9, self.send_bits))
        out = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        return out[:-4] if out.endswith(PMD_TAIL) else out

    def decompress(self, data):
        """One message's payload. A window of exactly the agreed size, and a
        fresh one per message when the peer said it resets: a peer that
        breaks either fails here (zlib.error)."""
        if self.decomp is None or self.recv_reset:
            self.decomp = zlib.decompressobj(-self.recv_bits)
        return self.decomp.decompress(data + PMD_TAIL)


def client_handshake_ext(sock, host, path, extensions, timeout=5.0):
    """client_handshake() offering `extensions`. Returns (rest, the
    Sec-WebSocket-Extensions values of the answer joined with ", ", or
    None when absent)."""
    req, key = client_request(host, path, extra=["Sec-WebSocket-Extensions: %s" % extensions])
    sock.sendall(req)
    head, rest = read_http_head(sock, timeout=timeout)
    if head is None:
        raise OSError("no handshake response")
    start, headers = parse_http_head(head)
    if len(start) < 2 or start[1] != "101":
        raise OSError("handshake refused: %s" % " ".join(start))
    if headers.get("sec-websocket-accept", [""])[0] != accept_key(key):
        raise OSError("bad Sec-WebSocket-Accept")
    ext = headers.get("sec-websocket-extensions")
    return rest, (", ".join(ext) if ext else None)


def accept_response_ext(key, extensions):
    """accept_response() with a Sec-WebSocket-Extensions answer."""
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
            "Sec-WebSocket-Extensions: %s\r\n\r\n" % (accept_key(key), extensions)
            ).encode("latin-1")
