#!/usr/bin/python3
"""Reports: a table per group on stdout, a Markdown report, and the closing
`N passed, N failed` line.

As a program: report.py OUT.md RESULTS.json... merges result files (written
by fuzzingclient.py / fuzzingserver.py with --json), prints the tables and
the closing line, writes OUT.md, and exits 1 on any FAILED case."""

import collections
import json
import os
import sys

GRADES = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]


def _key(cid):
    out = []
    for part in cid.split("."):
        out.append((0, int(part), "") if part.isdigit() else (1, 0, part))
    return out


def _group(cid):
    return cid.split(".")[0]


def _counts(results):
    c = collections.Counter(r["overall"] for r in results)
    return c


def passed_failed(results):
    failed = sum(1 for r in results if r["overall"] in ("FAILED", "UNIMPLEMENTED"))
    return len(results) - failed, failed


def _detail(r):
    detail = ""
    if r.get("reportTime"):
        detail = "%d ms" % r["duration"]
    if r["overall"] in ("FAILED", "UNIMPLEMENTED", "NON-STRICT"):
        detail = (detail + " " if detail else "") + r["result"]
        if r["behaviorClose"] != "OK":
            detail += " / " + r["resultClose"]
    elif r["overall"] == "INFORMATIONAL":
        detail = (detail + " " if detail else "") + r["result"]
    return detail


def print_tables(results, out=sys.stdout, verbose=None):
    """Per role: a table with one row per group, then the cases that are
    not OK, then the timed (9.x) cases. verbose (or CONFORMANCE_VERBOSE=1)
    lists every case."""
    if verbose is None:
        verbose = os.environ.get("CONFORMANCE_VERBOSE") == "1"
    by_role = collections.OrderedDict()
    for r in results:
        by_role.setdefault((r["role"], r["agent"]), []).append(r)
    for (role, agent), rs in by_role.items():
        rs = sorted(rs, key=lambda r: _key(r["id"]))
        out.write("\n=== wick as %s (%s) ===\n" % (role, agent))
        groups = collections.OrderedDict()
        for r in rs:
            groups.setdefault(_group(r["id"]), []).append(r)
        out.write("%-6s %6s %6s %11s %14s %14s %7s\n" % (
            "group", "cases", "OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"))
        for g, grs in groups.items():
            c = _counts(grs)
            out.write("%-6s %6d %6d %11d %14d %14d %7d\n" % (
                g, len(grs), c["OK"], c["NON-STRICT"], c["INFORMATIONAL"], c["UNIMPLEMENTED"],
                c["FAILED"]))
        shown = rs if verbose else [r for r in rs if r["overall"] != "OK" or r.get("reportTime")]
        if shown:
            out.write("\n%-10s %-14s %-17s %-6s %s\n" % ("case", "result", "close", "code",
                                                          "detail"))
            for r in shown:
                out.write("%-10s %-14s %-17s %-6s %s\n" % (
                    r["id"], r["overall"], r["behaviorClose"],
                    "-" if r["remoteCloseCode"] is None else r["remoteCloseCode"], _detail(r)))
    out.flush()


def summary_by_group(results):
    """{(role, agent): {group: Counter}}"""
    s = collections.OrderedDict()
    for r in results:
        s.setdefault((r["role"], r["agent"]), collections.OrderedDict()).setdefault(
            _group(r["id"]), collections.Counter())[r["overall"]] += 1
    return s


def write_markdown(results, path, title="wick conformance report"):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    lines = ["# %s" % title, ""]
    p, f = passed_failed(results)
    lines += ["**%d passed, %d failed** (%d cases)." % (p, f, len(results)), ""]
    lines += ["| role | group | cases | " + " | ".join(GRADES) + " |",
              "|---|---|---|" + "---|" * len(GRADES)]
    for (role, agent), groups in summary_by_group(results).items():
        for g in sorted(groups, key=lambda x: _key(x)):
            c = groups[g]
            lines.append("| %s | %s | %d | %s |" % (role, g, sum(c.values()),
                                                     " | ".join(str(c[k]) for k in GRADES)))
    lines.append("")
    fails = [r for r in results if r["overall"] in ("FAILED", "UNIMPLEMENTED")]
    if fails:
        lines += ["## Failures", ""]
        for r in sorted(fails, key=lambda r: (r["role"], _key(r["id"]))):
            lines.append("### %s %s" % (r["role"], r["id"]))
            lines.append("")
            lines.append("- description: %s" % r["description"])
            lines.append("- expectation: %s" % r["expectation"])
            lines.append("- behavior: %s (%s)" % (r["behavior"], r["result"]))
            lines.append("- close: %s (%s); peer close code %s; closed by suite: %s; "
                         "dropped by suite: %s" % (r["behaviorClose"], r["resultClose"],
                                                   r["remoteCloseCode"], r["closedByMe"],
                                                   r["droppedByMe"]))
            if r.get("peerViolation"):
                lines.append("- peer violation seen by the suite: %s" % r["peerViolation"])
            if r.get("received"):
                lines.append("- received: %s" % "; ".join(r["received"]))
            if r.get("wirelog"):
                lines.append("")
                lines.append("```")
                lines += r["wirelog"]
                lines.append("```")
            lines.append("")
    for role_agent in summary_by_group(results):
        role, agent = role_agent
        lines += ["## All cases: %s (%s)" % (role, agent), "",
                  "| case | result | behavior | close | peer code | ms | description |",
                  "|---|---|---|---|---|---|---|"]
        for r in sorted((r for r in results if (r["role"], r["agent"]) == role_agent),
                        key=lambda r: _key(r["id"])):
            desc = r["description"].replace("|", "\\|")
            if len(desc) > 140:
                desc = desc[:137] + "..."
            lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                r["id"], r["overall"], r["behavior"], r["behaviorClose"],
                "-" if r["remoteCloseCode"] is None else r["remoteCloseCode"],
                r["duration"] if r.get("reportTime") else "", desc))
        lines.append("")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def finish(results, md_path, title="wick conformance report"):
    """Tables, Markdown, closing line; returns the exit status."""
    print_tables(results)
    write_markdown(results, md_path, title)
    p, f = passed_failed(results)
    c = collections.Counter(r["overall"] for r in results)
    print("\n%s" % ", ".join("%d %s" % (c[k], k) for k in GRADES if c[k]))
    print("report: %s" % md_path)
    print("%d passed, %d failed" % (p, f))
    sys.stdout.flush()
    return 1 if f else 0


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: report.py OUT.md RESULTS.json...\n")
        return 2
    results = []
    for path in argv[2:]:
        with open(path) as fh:
            results += json.load(fh)
    return finish(results, argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
