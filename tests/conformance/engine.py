"""The case runner shared by the fuzzing client and the fuzzing server.

A Session is one WebSocket connection seen from the fuzzer's side (either
role). A case's run() queues frames and timers on it; Session.loop() then
drives the socket (non-blocking, so a large send never deadlocks against the
peer's echo), records what arrives, and ends when the TCP connection is
gone. grade() turns what happened into the two Autobahn verdicts (behavior
and close behavior) and the suite's overall result.

Grades (Autobahn|Testsuite names): OK, NON-STRICT, INFORMATIONAL,
UNIMPLEMENTED, FAILED; close verdicts OK, FAILED BY CLIENT, WRONG CODE,
UNCLEAN, FAILED.
"""

import collections
import os
import zlib
import select
import socket
import time

import wsproto
from wsproto import OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG

OK = "OK"
NON_STRICT = "NON-STRICT"
INFORMATIONAL = "INFORMATIONAL"
UNIMPLEMENTED = "UNIMPLEMENTED"
FAILED = "FAILED"
WRONG_CODE = "WRONG CODE"
UNCLEAN = "UNCLEAN"
FAILED_BY_CLIENT = "FAILED BY CLIENT"

CLOSE_HANDSHAKE_TIMEOUT = 2.0   # wait for the peer's part of a close
# killAfter / closeAfter are fallbacks that only fire when the peer did not
# do its part; stretching them (default x2) keeps a loaded machine from
# failing a correct peer, and only makes a failing one fail later.
TIME_SCALE = float(os.environ.get("CONFORMANCE_TIME_SCALE", "2"))
DEFAULT_CASE_TIMEOUT = 15.0     # hard limit for one case


class CaseDef:
    """One catalogue entry. run(p) starts the case on Session p; post(p)
    may adjust p.behavior / p.behavior_close after grading."""

    def __init__(self, cid, desc, expectation, run, post=None, timeout=None,
                 report_time=False, big=False, roles=None, hs_response=None):
        self.id = cid
        self.desc = desc
        self.expectation = expectation
        self.run = run
        self.post = post
        self.timeout = timeout or DEFAULT_CASE_TIMEOUT
        self.report_time = report_time
        self.big = big  # a 9.x-style limits/performance case
        # roles: None (both), or {"server"} / {"client"}: the role of wick
        # the case is about. hs_response(key) -> bytes replaces the fuzzing
        # server's 101 answer (cases about the client's handshake checks).
        self.roles = roles
        self.hs_response = hs_response


def msg(payload, binary=False):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return ("message", payload, binary)


def pong(payload=b""):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return ("pong", payload)


class Session:
    def __init__(self, sock, is_server, rest=b"", casedef=None, mask_fn=None):
        self.sock = sock
        self.is_server = is_server
        self.case = casedef
        self.parser = wsproto.FrameParser()
        self.pending_rx = rest
        self.mask_fn = mask_fn or (lambda: bytes([0x37, 0xfa, 0x21, 0x3d]))
        # Autobahn-like case state
        self.received = []
        self.expected = collections.OrderedDict()
        self.expected_close = {"closedByMe": True, "closeCode": [1000], "requireClean": True}
        self.suppress_close = False
        self.behavior = FAILED
        self.behavior_close = FAILED
        self.result = "Actual events differ from any expected."
        self.result_close = "TCP connection was dropped without close handshake"
        self.on_message_hook = None
        self.done_check = None  # replaces the comparison in finish_when_done
        self.data = {}          # per-case scratch
        # connection state
        self.sent_close = False
        self.got_close = False
        self.closed_by_me = None
        self.dropped_by_me = False
        self.tcp_closed = False
        self.remote_close_code = None
        self.remote_close_reason = b""
        self.local_close_code = None
        self.was_not_clean_reason = ""
        self.peer_violation = None
        self.timers = []
        self.timer_seq = 0
        self.outq = collections.deque()
        self.send_not_before = 0.0
        self.msg_opcode = None
        self.msg_parts = []
        self.tx_frames = collections.Counter()
        self.rx_frames = collections.Counter()
        self.drop_at = None
        self.started = time.monotonic()
        self.ended = None
        self.wirelog = []
        # permessage-deflate: a wsproto.Deflate once agreed (set by the
        # runner after the handshake), the raw answer (fuzzing client),
        # and how many messages the peer sent compressed / plain.
        self.pmd = None
        self.pmd_answer = None
        self.pmd_offer = None
        self.msg_compressed = False
        self.rx_compressed = 0
        self.rx_plain = 0

    # --- state ---------------------------------------------------------
    def is_open(self):
        return not self.sent_close and not self.got_close and not self.tcp_closed

    def log(self, what):
        if len(self.wirelog) < 200:
            self.wirelog.append("%.3f %s" % (time.monotonic() - self.started, what))

    # --- sending -------------------------------------------------------
    def _queue(self, data, chopsize=None, sync=False):
        if self.tcp_closed:
            return
        if chopsize:
            n = len(data)
            nchops = (n + chopsize - 1) // chopsize
            # Each chop is a separate write; small chop counts get a short
            # pause so they really travel as separate TCP segments.
            delay = 0.0005 if (nchops <= 1000 and n <= 70000) else 0.0
            for i in range(0, n, chopsize):
                self.outq.append([memoryview(data[i:i + chopsize]), delay])
        else:
            self.outq.append([memoryview(data), 0.01 if sync else 0.0])

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, payload_len=None,
                   chopsize=None, sync=False, mask=True):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if payload_len is not None:
            reps = payload * (payload_len // max(1, len(payload)) + 1)
            payload = reps[:payload_len]
        m = self.mask_fn() if (mask and not self.is_server) else None
        self.tx_frames[opcode] += 1
        self.log("TX frame op=%d fin=%d rsv=%d len=%d%s" % (
            opcode, fin, rsv, len(payload), " chop=%d" % chopsize if chopsize else ""))
        self._queue(wsproto.encode_frame(opcode, payload, fin, rsv, m), chopsize, sync)

    def send_message(self, payload, binary=False, fragment_size=None, compress=None,
                     reset=False):
        """compress: None (when permessage-deflate was agreed), True or
        False; the fragments are of the compressed payload, RSV1 on the
        first (RFC 7692 6). reset: compress without earlier context."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        op = OP_BINARY if binary else OP_TEXT
        rsv = 0
        if compress or (compress is None and self.pmd is not None):
            payload = self.pmd.compress(payload, reset)
            rsv = 4
        if not fragment_size or fragment_size >= len(payload):
            self.send_frame(op, payload, rsv=rsv)
            return
        i = 0
        n = len(payload)
        while i < n:
            part = payload[i:i + fragment_size]
            self.send_frame(op if i == 0 else OP_CONT, part, fin=(i + fragment_size >= n),
                            rsv=rsv if i == 0 else 0)
            i += fragment_size

    def send_raw(self, data, chopsize=None, sync=False):
        self._queue(data, chopsize, sync)

    def send_close(self, code=None, reason=b"", raw=False, payload=None):
        """Starts (or answers) the closing handshake. raw=True sends the
        close frame even if one was sent already (a protocol violation);
        payload replaces the encoded code and reason (to send invalid ones)."""
        if self.tcp_closed or (self.sent_close and not raw):
            return
        if self.closed_by_me is None and not self.got_close:
            self.closed_by_me = True
        self.sent_close = True
        self.local_close_code = code
        if payload is None:
            payload = wsproto.close_payload(code, reason)
        self.send_frame(OP_CLOSE, payload)
        if not self.got_close and self.drop_at is None:
            self.drop_at = time.monotonic() + CLOSE_HANDSHAKE_TIMEOUT

    def fail(self, code, why):
        """The fuzzer fails the connection (the peer misbehaved)."""
        if self.peer_violation is None:
            self.peer_violation = why
        self.log("FAIL %s" % why)
        if not self.sent_close:
            self.send_close(code)
        else:
            self.drop()

    def drop(self):
        if self.tcp_closed:
            return
        self.log("DROP")
        self.dropped_by_me = True
        self.tcp_closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    # --- timers --------------------------------------------------------
    def at(self, delay, fn):
        self.timer_seq += 1
        self.timers.append((time.monotonic() + delay, self.timer_seq, fn))
        self.timers.sort()

    def continue_later(self, delay, fn):
        self.at(delay, lambda: (not self.tcp_closed) and fn())

    def kill_after(self, delay):
        def kill():
            if self.tcp_closed:
                return
            self.log("KILL")
            if not self.sent_close:
                self.send_close(1001)
            else:
                self.drop()
        self.at(delay * TIME_SCALE, kill)

    def close_after(self, delay):
        self.at(delay * TIME_SCALE, lambda: self.send_close())

    # --- expectations --------------------------------------------------
    def expect(self, **kw):
        for grade in ("OK", "NON_STRICT"):
            if grade in kw:
                self.expected[OK if grade == "OK" else NON_STRICT] = list(kw[grade])

    def expect_close(self, by_me, codes, clean, wrong_endpoint_fatal=False):
        self.expected_close = {"closedByMe": by_me, "closeCode": list(codes),
                               "requireClean": clean,
                               "closedByWrongEndpointIsFatal": wrong_endpoint_fatal}

    def record(self, ev):
        self.received.append(ev)
        self.finish_when_done()

    def finish_when_done(self):
        if self.done_check is not None:
            if self.done_check():
                self.send_close(self.expected_close["closeCode"][0])
            return
        if not self.expected:
            return
        for exp in self.expected.values():
            if exp != self.received:
                return
        if self.expected_close["closedByMe"] and not self.suppress_close:
            self.send_close(self.expected_close["closeCode"][0])

    # --- receiving -----------------------------------------------------
    def _on_frame(self, f):
        self.rx_frames[f.opcode] += 1
        self.log("RX frame op=%d fin=%d rsv=%d len=%d" % (f.opcode, f.fin, f.rsv, len(f.payload)))
        if self.got_close:
            return  # nothing may follow a close frame; ignore it
        # RSV1 is permessage-deflate's, on the first frame of a data
        # message only (RFC 7692 6); anything else is a violation.
        first_data = f.opcode in (OP_TEXT, OP_BINARY)
        if f.rsv and not (f.rsv == 4 and self.pmd is not None and first_data):
            return self.fail(1002, "peer sent RSV bits %d on opcode %d" % (f.rsv, f.opcode))
        if first_data:
            self.msg_compressed = f.rsv == 4
        if f.masked != self.is_server:
            if self.is_server:
                return self.fail(1002, "client sent an unmasked frame")
            return self.fail(1002, "server sent a masked frame")
        op = f.opcode
        if op >= 8:
            if not f.fin or len(f.payload) > 125:
                return self.fail(1002, "peer sent a bad control frame")
            if op == OP_PING:
                if not self.sent_close:
                    self.send_frame(OP_PONG, f.payload)
                self.record(("ping", f.payload))
            elif op == OP_PONG:
                self.record(("pong", f.payload))
            elif op == OP_CLOSE:
                self._on_close(f.payload)
            else:
                return self.fail(1002, "peer sent reserved opcode %d" % op)
            return
        if op in (OP_TEXT, OP_BINARY):
            if self.msg_opcode is not None:
                return self.fail(1002, "peer started a message inside another")
            self.msg_opcode = op
            self.msg_parts = [f.payload]
        elif op == OP_CONT:
            if self.msg_opcode is None:
                return self.fail(1002, "peer sent a continuation with no message")
            self.msg_parts.append(f.payload)
        else:
            return self.fail(1002, "peer sent reserved opcode %d" % op)
        if f.fin:
            data = b"".join(self.msg_parts)
            binary = self.msg_opcode == OP_BINARY
            self.msg_opcode, self.msg_parts = None, []
            if self.msg_compressed:
                self.rx_compressed += 1
                try:
                    data = self.pmd.decompress(data)
                except zlib.error as e:
                    return self.fail(1007, "peer sent invalid compressed data: %s" % e)
            else:
                self.rx_plain += 1
            if not binary and not wsproto.utf8_valid(data):
                return self.fail(1007, "peer sent invalid UTF-8")
            if self.on_message_hook:
                self.on_message_hook(data, binary)
            else:
                self.record(("message", data, binary))

    def _on_close(self, payload):
        self.got_close = True
        if self.closed_by_me is None:
            self.closed_by_me = False
        code = None
        reply = None
        if len(payload) == 1:
            reply = 1002
            self.peer_violation = "peer sent a 1-byte close payload"
        elif len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
            self.remote_close_reason = payload[2:]
            valid = (1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999)
            if not valid:
                reply = 1002
                self.peer_violation = "peer sent close code %d" % code
            elif not wsproto.utf8_valid(payload[2:]):
                reply = 1007
                self.peer_violation = "peer sent a close reason that is not UTF-8"
            else:
                reply = code
        self.remote_close_code = code
        self.log("RX close code=%s" % code)
        if not self.sent_close:
            self.send_close(reply)
        # The server closes TCP first (RFC 6455 7.1.1): as the server we
        # drop once our close is out; as the client we wait for the drop.
        self.drop_at = time.monotonic() + (0.0 if self.is_server else CLOSE_HANDSHAKE_TIMEOUT)

    def _feed(self, data):
        self.parser.feed(data)
        while not self.tcp_closed:
            try:
                f = self.parser.next_frame()
            except wsproto.FrameError as e:
                self.fail(1002, str(e))
                return
            if f is None:
                return
            self._on_frame(f)

    # --- the loop ------------------------------------------------------
    def loop(self, timeout):
        self.sock.setblocking(False)
        deadline = self.started + timeout
        if self.pending_rx:
            data, self.pending_rx = self.pending_rx, b""
            self._feed(data)
        while not self.tcp_closed:
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now and not self.tcp_closed:
                _, _, fn = self.timers.pop(0)
                fn()
            if self.tcp_closed:
                break
            if now >= deadline:
                self.log("case timeout")
                self.was_not_clean_reason = "case timed out after %.0f s" % timeout
                self.drop()
                break
            if self.drop_at is not None and now >= self.drop_at and not self.outq:
                if not self.got_close:
                    self.was_not_clean_reason = "peer did not answer our close in time"
                elif not self.is_server:
                    self.was_not_clean_reason = "server did not drop TCP after the close handshake"
                self.drop()
                break
            wake = deadline
            if self.timers:
                wake = min(wake, self.timers[0][0])
            if self.drop_at is not None:
                wake = min(wake, self.drop_at)
            want_write = bool(self.outq) and now >= self.send_not_before
            if self.outq and not want_write:
                wake = min(wake, self.send_not_before)
            wait = max(0.0, wake - now)
            try:
                r, w, _ = select.select([self.sock], [self.sock] if want_write else [], [], wait)
            except (OSError, ValueError):
                break
            if w:
                self._write()
            if r:
                try:
                    data = self.sock.recv(1 << 20)
                except BlockingIOError:
                    data = None
                except OSError as e:
                    self.log("recv error %s" % e)
                    data = b""
                if data == b"":
                    self.log("peer closed TCP")
                    self.tcp_closed = True
                    try:
                        self.sock.close()
                    except OSError:
                        pass
                elif data:
                    self._feed(data)
        self.ended = time.monotonic()

    def _write(self):
        while self.outq and not self.tcp_closed:
            item = self.outq[0]
            try:
                n = self.sock.send(item[0])
            except BlockingIOError:
                return
            except OSError as e:
                self.log("send error %s" % e)
                self.outq.clear()
                return
            if n < len(item[0]):
                item[0] = item[0][n:]
                return
            self.outq.popleft()
            if item[1] > 0:
                self.send_not_before = time.monotonic() + item[1]
                return

    def was_clean(self):
        return self.sent_close and self.got_close and (self.is_server or not self.dropped_by_me) \
            and not self.was_not_clean_reason


def grade(p, case):
    """Autobahn's grading: the events received against each expected list,
    then the close behavior."""
    for name, exp in p.expected.items():
        if exp == p.received:
            p.behavior = name
            p.result = "Actual events match at least one expected."
            break
    ec = p.expected_close
    closed_by_me = bool(p.closed_by_me)
    if ec["closedByMe"] != closed_by_me:
        p.behavior_close = FAILED
        p.result_close = "The connection was failed by the wrong endpoint"
    elif ec["requireClean"] and not p.was_clean():
        p.behavior_close = UNCLEAN
        p.result_close = "The spec requires the connection to be failed cleanly here" + \
            (" (%s)" % p.was_not_clean_reason if p.was_not_clean_reason else "")
    elif p.remote_close_code is not None and p.remote_close_code not in ec["closeCode"]:
        p.behavior_close = WRONG_CODE
        p.result_close = "The close code should have been %s or empty" % ",".join(
            str(c) for c in ec["closeCode"])
    elif not p.is_server and p.dropped_by_me:
        p.behavior_close = FAILED_BY_CLIENT
        p.result_close = "It is preferred that the server close the TCP connection"
    else:
        p.behavior_close = OK
        p.result_close = "Connection was properly closed"
    if ec.get("closedByWrongEndpointIsFatal") and ec["closedByMe"] != closed_by_me:
        p.behavior = FAILED
        p.result = "The peer did not fail the connection itself (it did not detect the " \
                   "invalid input)."
    if case.post:
        case.post(p)


def overall(behavior, behavior_close):
    """One verdict per case. Stricter than Autobahn's colouring in one way:
    a wrong close code (WRONG CODE) is a failure, since the brief of this
    suite is that every invalid input gets the right close code."""
    if behavior == UNIMPLEMENTED:
        return UNIMPLEMENTED
    if behavior == INFORMATIONAL:
        return INFORMATIONAL
    if behavior == FAILED or behavior_close in (FAILED, UNCLEAN, WRONG_CODE):
        return FAILED
    if behavior == NON_STRICT or behavior_close == FAILED_BY_CLIENT:
        return NON_STRICT
    return OK


def result_dict(p, case, role, agent):
    dur = int(round(1000 * ((p.ended or time.monotonic()) - p.started)))
    res = overall(p.behavior, p.behavior_close)
    return {
        "id": case.id, "role": role, "agent": agent,
        "description": case.desc, "expectation": case.expectation,
        "behavior": p.behavior, "behaviorClose": p.behavior_close,
        "result": p.result, "resultClose": p.result_close, "overall": res,
        "remoteCloseCode": p.remote_close_code, "closedByMe": bool(p.closed_by_me),
        "droppedByMe": p.dropped_by_me, "wasClean": p.was_clean(),
        "peerViolation": p.peer_violation, "duration": dur, "reportTime": case.report_time,
        "received": summarize(p.received), "wirelog": p.wirelog[-40:] if res == FAILED else [],
    }


def summarize(received):
    out = []
    for ev in received[:20]:
        if ev[0] == "message":
            d = ev[1]
            out.append("message(%s, %d bytes%s)" % ("binary" if ev[2] else "text", len(d),
                                                   ", %r" % d[:40] if len(d) <= 40 else ""))
        elif len(ev) > 1 and isinstance(ev[1], bytes):
            out.append("%s(%r)" % (ev[0], ev[1][:40]))
        else:
            out.append("%s(%s)" % ev)
    if len(received) > 20:
        out.append("... %d events" % len(received))
    return out
