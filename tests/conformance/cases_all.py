"""The whole catalogue in Autobahn|Testsuite order, and case selection."""

import fnmatch

import cases_close
import cases_deflate
import cases_extra
import cases_framing
import cases_limits
import cases_utf8


def catalogue():
    cases = cases_framing.CASES + cases_utf8.CASES + cases_close.CASES + cases_limits.CASES + \
        cases_extra.CASES + cases_deflate.CASES
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases


def select(cases, include=None, exclude=None, full=False, role=None):
    """include / exclude: comma-separated patterns ("6.4.*,7.9.*"); 9.x
    (the big ones) only with full=True unless named by include."""
    inc = [x.strip() for x in include.split(",")] if include else None
    exc = [x.strip() for x in exclude.split(",")] if exclude else []

    def match(cid, pats):
        return any(fnmatch.fnmatchcase(cid, pat) or cid == pat or
                   cid.startswith(pat.rstrip("*").rstrip(".") + ".") for pat in pats)
    out = []
    for c in cases:
        if role is not None and c.roles is not None and role not in c.roles:
            continue
        if inc is not None and not match(c.id, inc):
            continue
        if inc is None and c.big and not full:
            continue
        if match(c.id, exc):
            continue
        out.append(c)
    return out


def group_of(cid):
    return cid.split(".")[0]
