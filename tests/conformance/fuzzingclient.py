#!/usr/bin/python3
"""Fuzzing client: runs the case catalogue against a WebSocket echo server.

  fuzzingclient.py --server-cmd build/examples/echo_server [--full] [--handshake]
  fuzzingclient.py --url ws://127.0.0.1:9001/ [--cases 6.4.*] [--exclude 9.*]

With --server-cmd the suite starts the server itself (port 0, 127.0.0.1),
restarts it if it dies during a case (the case then fails) and stops it at
the end. Prints a table per group and `N passed, N failed`, writes
build/conformance/<name>.md (and .json with --json), exits 1 on a FAILED
case."""

import argparse
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases_all       # noqa: E402
import engine          # noqa: E402
import procs           # noqa: E402
import report          # noqa: E402
import wsproto         # noqa: E402


class Target:
    """Where the cases connect; owns the server process when we started it."""

    def __init__(self, args):
        self.cmd = args.server_cmd.split() if args.server_cmd else None
        self.proc = None
        self.logdir = args.outdir
        self.restarts = 0
        if self.cmd:
            self.start()
        else:
            u = args.url
            if not u.startswith("ws://"):
                raise SystemExit("only ws:// URLs are supported")
            hostport, _, path = u[5:].partition("/")
            host, _, port = hostport.partition(":")
            self.host, self.port, self.path = host, int(port or 80), "/" + path

    def start(self):
        log = os.path.join(self.logdir, "server-%d.log" % self.restarts)
        self.proc, self.port = procs.start_server(self.cmd, log)
        self.host, self.path = "127.0.0.1", "/"

    def alive(self):
        return self.proc is None or self.proc.poll() is None

    def restart(self):
        self.last_log = self.proc.log_path
        status = procs.stop(self.proc)
        self.restarts += 1
        self.start()
        return status

    def stop(self):
        if self.proc is not None:
            procs.stop(self.proc)
            self.proc = None

    def connect(self, timeout=5.0):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


def run_case(target, case, agent):
    offer = getattr(case, "offer", None)
    answer = None
    try:
        sock = target.connect()
        hp = "%s:%d" % (target.host, target.port)
        if offer is None:
            rest = wsproto.client_handshake(sock, hp, target.path)
        else:
            rest, answer = wsproto.client_handshake_ext(sock, hp, target.path, offer)
    except OSError as e:
        p = engine.Session(None, False, casedef=case)
        p.ended = time.monotonic()
        p.result = "The WebSocket opening handshake failed: %s" % e
        p.result_close = "The WebSocket opening handshake was never completed!"
        return engine.result_dict(p, case, "server", agent)
    p = engine.Session(sock, False, rest, case, mask_fn=lambda: os.urandom(4))
    p.pmd_offer, p.pmd_answer = offer, answer
    exts = wsproto.parse_extensions(answer)
    if len(exts) == 1 and exts[0][0] == wsproto.PMD:
        p.pmd = wsproto.Deflate(False, exts[0][1])
    case.run(p)
    p.loop(case.timeout)
    engine.grade(p, case)
    return engine.result_dict(p, case, "server", agent)


def run_catalogue(target, cases, agent, verbose=True):
    results = []
    for case in cases:
        r = run_case(target, case, agent)
        if not target.alive():
            status = target.restart()
            r["overall"] = engine.FAILED
            r["behavior"] = engine.FAILED
            r["result"] = "the server process died during this case (status %s): %s" % (
                status, procs.tail(target.last_log + ".stderr", 600))
        results.append(r)
        if verbose and r["overall"] == engine.FAILED:
            sys.stdout.write("  FAILED %s: %s / %s\n" % (r["id"], r["result"], r["resultClose"]))
            sys.stdout.flush()
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server-cmd", help="server to start (gets the port as its argument)")
    ap.add_argument("--url", default=None, help="ws://host:port/path of a running server")
    ap.add_argument("--agent", default="wick echo_server")
    ap.add_argument("--cases", default=None, help="comma-separated patterns, e.g. 6.4.*,7.9.1")
    ap.add_argument("--exclude", default=None)
    ap.add_argument("--full", action="store_true", help="include the 9.x limits cases")
    ap.add_argument("--handshake", action="store_true",
                    help="also run the handshake and robustness cases (H.x, R.x)")
    ap.add_argument("--outdir", default="build/conformance")
    ap.add_argument("--name", default="server-role")
    ap.add_argument("--json", action="store_true", help="also write NAME.json")
    args = ap.parse_args(argv)
    if not args.server_cmd and not args.url:
        ap.error("give --server-cmd or --url")
    os.makedirs(args.outdir, exist_ok=True)
    cases = cases_all.select(cases_all.catalogue(), args.cases, args.exclude, args.full,
                             role="server")
    target = Target(args)
    results = []
    t0 = time.monotonic()
    try:
        print("fuzzing client: %d cases against %s:%d (%s)" % (len(cases), target.host,
                                                              target.port, args.agent))
        sys.stdout.flush()
        results += run_catalogue(target, cases, args.agent)
        if args.handshake:
            import cases_handshake
            results += cases_handshake.run_all(target, args.agent, args.cases, args.exclude)
    finally:
        target.stop()
    print("fuzzing client: %.1f s" % (time.monotonic() - t0))
    if args.json:
        with open(os.path.join(args.outdir, args.name + ".json"), "w") as fh:
            json.dump(results, fh, indent=1)
    return report.finish(results, os.path.join(args.outdir, args.name + ".md"),
                         "wick conformance: fuzzing client against %s" % args.agent)


if __name__ == "__main__":
    sys.exit(main())
