#!/usr/bin/python3
"""Fuzzing server: serves the case catalogue to a WebSocket client under
test, with the Autobahn|Testsuite protocol:

  GET /getCaseCount                  -> one text message: the number of cases
  GET /runCase?case=N&agent=A        -> case N (1-based) runs on this connection
  GET /updateReports?agent=A         -> the reports are written

The client echoes every text and binary message until the server closes.

  fuzzingserver.py --client-cmd build/examples/autobahn_client [--full]
      starts the server on 127.0.0.1 (ephemeral port), runs
      `CLIENT ws://127.0.0.1:PORT` and stops both at the end;
  fuzzingserver.py --port 9001 --wait
      only serves, until a client asks for /updateReports.

Prints a table per group and `N passed, N failed`, writes
build/conformance/<name>.md (and .json with --json), exits 1 on a FAILED
case or when the client did not run every case."""

import argparse
import json
import os
import select
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases_all       # noqa: E402
import engine          # noqa: E402
import procs           # noqa: E402
import report          # noqa: E402
import wsproto         # noqa: E402


class FuzzingServer:
    def __init__(self, cases, port=0):
        self.cases = cases
        self.results = {}           # case index -> result dict
        self.done = False
        self.agent = None
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", port))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]

    def serve_one(self, timeout):
        r, _, _ = select.select([self.lsock], [], [], timeout)
        if not r:
            return False
        sock, _ = self.lsock.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            start, headers, rest = wsproto.server_read_request(sock)
            key = headers.get("sec-websocket-key", [None])[0]
            if len(start) < 2 or start[0] != "GET" or key is None:
                raise OSError("not a WebSocket upgrade: %r" % " ".join(start))
        except OSError as e:
            sys.stdout.write("  fuzzing server: bad handshake from the client: %s\n" % e)
            sock.close()
            return True
        url = urllib.parse.urlsplit(start[1])
        q = urllib.parse.parse_qs(url.query)
        agent = q.get("agent", [None])[0]
        case = None
        if url.path == "/runCase":
            try:
                n = int(q.get("case", ["0"])[0])
            except ValueError:
                n = 0
            if 1 <= n <= len(self.cases):
                case = self.cases[n - 1]
        offer = ", ".join(headers.get("sec-websocket-extensions", [])) or None
        answer = None
        try:
            if case is not None and case.hs_response is not None:
                if getattr(case, "hs_response_offer", False):
                    sock.sendall(case.hs_response(key, offer))
                else:
                    sock.sendall(case.hs_response(key))
            elif case is not None and getattr(case, "answer", None) is not None:
                # permessage-deflate cases: the answer to the client's offer.
                answer = case.answer(offer)
                sock.sendall(wsproto.accept_response_ext(key, answer) if answer
                             else wsproto.accept_response(key))
            else:
                sock.sendall(wsproto.accept_response(key))
        except OSError:
            sock.close()
            return True
        if url.path == "/getCaseCount":
            p = engine.Session(sock, True, rest)
            p.send_frame(wsproto.OP_TEXT, str(len(self.cases)).encode())
            p.send_close(1000)
            p.loop(5)
        elif url.path == "/runCase":
            if case is None or not agent:
                sock.close()
                return True
            self.agent = agent
            p = engine.Session(sock, True, rest, case)
            p.pmd_offer, p.pmd_answer = offer, answer
            exts = wsproto.parse_extensions(answer)
            if len(exts) == 1 and exts[0][0] == wsproto.PMD:
                p.pmd = wsproto.Deflate(True, exts[0][1])
            case.run(p)
            p.loop(case.timeout)
            engine.grade(p, case)
            r = engine.result_dict(p, case, "client", agent)
            self.results[n] = r
            if r["overall"] == engine.FAILED:
                sys.stdout.write("  FAILED %s: %s / %s\n" % (r["id"], r["result"],
                                                           r["resultClose"]))
                sys.stdout.flush()
        elif url.path == "/updateReports":
            p = engine.Session(sock, True, rest)
            p.send_close(1000)
            p.loop(5)
            self.done = True
        else:
            p = engine.Session(sock, True, rest)
            p.send_close(1000)
            p.loop(5)
        return True

    def collect(self, agent):
        out = []
        for i, case in enumerate(self.cases, 1):
            if i in self.results:
                out.append(self.results[i])
            else:
                out.append({
                    "id": case.id, "role": "client", "agent": agent, "description": case.desc,
                    "expectation": case.expectation, "behavior": engine.FAILED,
                    "behaviorClose": engine.FAILED, "result": "the client never ran this case",
                    "resultClose": "-", "overall": engine.FAILED, "remoteCloseCode": None,
                    "closedByMe": False, "droppedByMe": False, "wasClean": False,
                    "peerViolation": None, "duration": 0, "reportTime": case.report_time,
                    "received": [], "wirelog": []})
        return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client-cmd", help="client to start with the base URL as its argument")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--wait", action="store_true", help="serve until /updateReports")
    ap.add_argument("--agent", default="wick autobahn_client")
    ap.add_argument("--cases", default=None)
    ap.add_argument("--exclude", default=None)
    ap.add_argument("--full", action="store_true", help="include the 9.x limits cases")
    ap.add_argument("--outdir", default="build/conformance")
    ap.add_argument("--name", default="client-role")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.client_cmd and not args.wait:
        ap.error("give --client-cmd or --wait")
    os.makedirs(args.outdir, exist_ok=True)
    cases = cases_all.select(cases_all.catalogue(), args.cases, args.exclude, args.full,
                             role="client")
    srv = FuzzingServer(cases, args.port)
    print("fuzzing server: %d cases on 127.0.0.1:%d" % (len(cases), srv.port))
    sys.stdout.flush()
    client = None
    t0 = time.monotonic()
    budget = sum(c.timeout for c in cases) + 60
    note = None
    try:
        if args.client_cmd:
            client = procs.start_client(args.client_cmd.split() + [
                "ws://127.0.0.1:%d" % srv.port], os.path.join(args.outdir, args.name + "-client.log"))
        while not srv.done:
            if time.monotonic() - t0 > budget:
                note = "fuzzing server: gave up after %.0f s" % budget
                break
            if client is not None and client.poll() is not None:
                # drain connections the client made just before exiting
                while srv.serve_one(0.2):
                    pass
                if not srv.done:
                    note = "the client exited (status %s) before /updateReports" % client.returncode
                break
            srv.serve_one(0.5)
        if client is not None and not note:
            try:
                client.wait(10)
            except Exception:
                pass
            if client.poll() is not None and client.returncode != 0:
                note = "the client exited with status %s" % client.returncode
    finally:
        if client is not None:
            procs.stop(client)
        srv.lsock.close()
    print("fuzzing server: %.1f s" % (time.monotonic() - t0))
    if note:
        print(note)
        if client is not None:
            print(procs.tail(client.log_path, 1500))
    results = srv.collect(srv.agent or args.agent)
    if args.json:
        with open(os.path.join(args.outdir, args.name + ".json"), "w") as fh:
            json.dump(results, fh, indent=1)
    status = report.finish(results, os.path.join(args.outdir, args.name + ".md"),
                           "wick conformance: fuzzing server against %s" % (srv.agent or args.agent))
    return status or (1 if note else 0)


if __name__ == "__main__":
    sys.exit(main())
