"""What a shared calendar costs (issue 17): the same requests through the subscriber's
shared path (``/<user>/~<owner>~<name>/``) against the owner's own path.

In-process on our server's store, interleaved. The big calendar is shared with a
second user who may read it; the "stock" column is his request at the owner's path
(what he can do without sharing: the same ACL, the same privacy view), "ours" the
same request through his share. Rows: a one-week REPORT, a GET
of one event, and the Depth-1 PROPFIND a client sends for a home's calendar list, of a
home of 19 small calendars owned against a home where the same 19 are shares (each
share's subscription and ACL are decided afresh on every request). Target: a share
within 2x of the owner's path.
``python -m benchmarks.bench_sharing`` runs just this module through the harness.
"""

from __future__ import annotations

import base64
import sys
from typing import List

from benchmarks.caldav_bench import _App, report_body
from benchmarks.run import Context, Row, median

NAME = "sharing"
SUBSCRIBER = "bench-subscriber"
EMPTY = "bench-reader"
OWNER = "bench-owner"
SHARES = 20


def _as(app: _App, user: str, password: str) -> _App:
    other = _App.__new__(_App)
    other.app = app.app
    other.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return other


def _timed(call, *args) -> float:
    import time
    started = time.perf_counter()
    status = call(*args)
    if status not in (200, 207):
        raise RuntimeError("%s answered %d" % (args[:2], status))
    return (time.perf_counter() - started) * 1000


def _listing(app: _App, user: str, body: bytes) -> int:
    """How many shares a Depth-1 PROPFIND of ``user``'s home lists."""
    import io
    environ_body = []
    status = []
    environ = {"REQUEST_METHOD": "PROPFIND", "PATH_INFO": "/%s/" % user, "QUERY_STRING": "",
               "SERVER_NAME": "localhost", "SERVER_PORT": "80",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
               "wsgi.version": (1, 0), "wsgi.multithread": True,
               "wsgi.multiprocess": False, "wsgi.run_once": False,
               "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
               "SCRIPT_NAME": "", "HTTP_AUTHORIZATION": app.auth, "HTTP_DEPTH": "1"}
    environ_body.extend(app.app(environ, lambda s, h, e=None: status.append(s)))
    return b"".join(environ_body).count(b"<href>/%s/~" % user.encode())


def run(ctx: Context) -> List[Row]:
    from radicale_wcap import calid as calid_mod
    from radicale_wcap import store as store_mod
    from radicale_wcap.sharing import paths
    from radicale_wcap.wcap.commands import lists

    owner = _App(ctx)
    instance = owner.app.instance
    for name in (SUBSCRIBER, EMPTY, OWNER):
        if instance.directory.get(name) is None:
            instance.directory.add(name, ctx.password, email="%s@example.com" % name)
    calid = calid_mod.from_path(ctx.calendar_path)
    record = instance.registry.get(ctx.calendar_path) or instance.registry.register(
        ctx.calendar_path)
    instance.registry.set_acl(ctx.calendar_path, "%s^a^r^g;%s" % (SUBSCRIBER, record.acl))
    extra = []
    for n in range(SHARES - 1):
        small = "%s:s%d" % (OWNER, n)
        if instance.store.calendar_props(small) is None:
            instance.store.create_calendar(small, user=OWNER)
        instance.registry.set_acl(calid_mod.to_path(small), "%s^a^r^g" % EMPTY)
        extra.append(small)
    lists.subscribe(instance, SUBSCRIBER, [calid])
    lists.subscribe(instance, EMPTY, extra)  # the owner's small calendars, shared
    subscriber = _as(owner, SUBSCRIBER, ctx.password)
    nobody = _as(owner, EMPTY, ctx.password)
    owners = _as(owner, OWNER, ctx.password)
    shared = paths.shared_path(SUBSCRIBER, calid)
    body = report_body(ctx)
    headers = {"Depth": "1", "Content-Type": "application/xml"}
    with instance.store.reading(ctx.calendar_path, ctx.user, store_mod.READ) as reader:
        href = next(iter(reader.entries().values())).href
    # What a client asks of each calendar in a home (Thunderbird, DAVx5).
    listing = (b"<?xml version='1.0'?><D:propfind xmlns:D='DAV:' "
               b"xmlns:CS='http://calendarserver.org/ns/'><D:prop><D:resourcetype/>"
               b"<D:displayname/><CS:getctag/><D:current-user-privilege-set/></D:prop>"
               b"</D:propfind>")
    cases = {
        "REPORT one week": ((subscriber, "REPORT", ctx.calendar_path, body, headers),
                            (subscriber, "REPORT", shared, body, headers)),
        "GET one event": ((subscriber, "GET", ctx.calendar_path + href),
                          (subscriber, "GET", shared + href)),
        "PROPFIND home Depth 1, %d calendars owned vs shared" % (SHARES - 1): (
            (owners, "PROPFIND", "/%s/" % OWNER, listing, {"Depth": "1"}),
            (nobody, "PROPFIND", "/%s/" % EMPTY, listing, {"Depth": "1"})),
    }
    listed = _listing(nobody, EMPTY, listing)
    if listed != SHARES - 1:
        raise RuntimeError("the reader's home lists %d shares, not %d" % (listed, SHARES - 1))
    rows = []
    for label, (base, through) in cases.items():
        _timed(base[0], *base[1:])   # warm up this process
        _timed(through[0], *through[1:])
        times = {0: [], 1: []}
        for _ in range(max(7, ctx.repeat)):
            times[0].append(_timed(base[0], *base[1:]))
            times[1].append(_timed(through[0], *through[1:]))
        rows.append(Row(label + " (in-process)", median(times[0]), median(times[1]), 0.5,
                        "stock column = the owner's path (the owner's home for the "
                        "listing); ours = through the share"))
    return rows


def main() -> None:
    from benchmarks import run as harness
    harness.main(["--only", NAME] + sys.argv[1:])


if __name__ == "__main__":
    main()
