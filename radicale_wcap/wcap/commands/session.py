"""Sessions: login (Table 7-32), logout (Table 7-33), check_id (Table 7-11).

login
    ``user``/``password`` from the query or a form-encoded POST body (the dispatcher
    reads both). Credentials go through `radicale_wcap.auth.verify`, which refuses a
    user's logins for a growing while after each failure, without holding the worker;
    a failure is errno 1 LOGIN_FAILED, the number Lightning answers with a new password
    prompt (docs/wcap-clients.md#lightning-login). Right credentials whose session can not
    be recorded (a full disk) are errno 53, "all errors from a write to the database
    (internal error)": the table's ``failed`` for login, not 1, which would have the user
    retype a right password. Every successful login creates a new id (an ``id``
    sent along is never reused: no session fixation). Ids are letters and digits only
    (`radicale_wcap.sessions`).

    Answer: ``X-NSCP-WCAP-SESSION-ID`` first, then ``-USER-ID`` (WCapCal cuts the id
    out between those two), ``-CALENDAR-ID`` and ``X-NSCP-RECURRENCE-BOUND``
    (Lightning's COUNT for infinite rules, docs/wcap-clients.md#login-answer). text/xml
    gives the same as elements (php-wcap-client reads ``<X-NSCP-WCAP-SESSION-ID>``).

    ``refresh`` (manual): 1 = "only the session identifier", the default for
    text/calendar and text/xml; 0 = "everything", the default for text/js. The
    iCalendar/XML answers always carry all four properties, because every client that
    uses those formats reads USER-ID/CALENDAR-ID too; refresh only changes text/js:
    ``var id=`` alone (1) or the manual's full ``id/userid/calid`` page (0).

    The manual's refresh=0 answer is an HTTP 302 to Calendar Express's ``main.html``,
    and ``fmt-out=text/html`` logs into that UI. Neither is served: there is no
    Calendar Express here, and Lightning treats any status but 200 as a network
    failure and never retries a login after it (docs/wcap-clients.md#always-http-200).
    refresh=0 gets the body of the manual's 302 page with status 200; text/html is
    refused by the dispatcher as errno 58 NO_SUCH_FORMAT.

logout
    errno -1 in every format, which is what Lightning checks
    (docs/wcap-clients.md#logout-errno); also for an id that has already expired (the
    session mode is OPTIONAL so that a quitting client is not sent to log in again). The id
    is dead afterwards.

check_id
    ``X-NSCP-WCAP-CHECK-ID:1`` for a live id, ``0`` otherwise, errno 0 either way. The
    manual calls it administrator-only, but the only id it takes is the caller's own,
    so answering it tells nobody anything they did not hold already.

Neither passwords nor ids are ever logged.
"""

from __future__ import annotations

import logging

from radicale_wcap import auth
from radicale_wcap import calid as calid_mod

from ..errors import WcapErrno, WcapError
from ..result import Prop, Result, SessionInfo
from . import handler

logger = logging.getLogger("radicale.wcap.wcap.commands.session")


def viewer(ctx) -> str:
    """The user a Session.OPTIONAL command acts for: "" (anonymous) without an ``id``.

    A command that also serves public calendars anonymously (manual "Session
    Identifier": "It is not required ... to grant read access to a public calendar")
    must still answer errno 1 to an ``id`` that is sent but dead: that is how
    Lightning learns that its session expired (docs/wcap-clients.md#errno-handling).
    """
    if ctx.session_id and ctx.user is None:
        raise WcapError(WcapErrno.LOGIN_FAILED, "invalid or expired session")
    return ctx.user or ""


def default_calid(user) -> str:
    """The calid a client should use for the user's own calendar (icsCalendar pref)."""
    preferred = str(user.prefs.get("icsCalendar") or "").strip()
    return preferred or user.default_calid


@handler("login")
def login(ctx, params) -> Result:
    instance = ctx.backend.instance
    name = (params.get("user") or "").strip()
    password = params.get("password")
    if not name or password is None:
        raise WcapError(WcapErrno.LOGIN_FAILED, "user or password missing")
    if not calid_mod.is_valid_name(name):
        # Not a name the directory can hold; answered like a wrong password, and
        # not counted (the failure table is keyed by valid names).
        raise WcapError(WcapErrno.LOGIN_FAILED, "not a valid user name")
    if not auth.verify(instance.configuration, name, password):
        logger.info("WCAP login failed for user %r", name)
        raise WcapError(WcapErrno.LOGIN_FAILED, "bad credentials")
    user = instance.directory.get(name)
    if user is None:
        raise WcapError(WcapErrno.LOGIN_FAILED, "user vanished after verification")
    sid = instance.sessions.create(name)
    calid = default_calid(user)
    logger.info("WCAP login: user %r", name)
    bound = ctx.settings.get("recurrence_bound", 60)
    refresh = params.get("refresh")
    if refresh is None:
        refresh = ctx.fmt_out != "text/js"
    if ctx.fmt_out == "text/js" and refresh:
        # The manual: "the returned page contains only the session identifier".
        return Result(session=SessionInfo(id=sid))
    return Result(
        props=[Prop("X-NSCP-WCAP-SESSION-ID", sid), Prop("X-NSCP-WCAP-USER-ID", name),
               Prop("X-NSCP-WCAP-CALENDAR-ID", calid),
               Prop("X-NSCP-RECURRENCE-BOUND", str(bound))],
        session=SessionInfo(id=sid, userid=name, calid=calid))


@handler("logout")
def logout(ctx, params) -> Result:
    if ctx.session_id:
        revoked = ctx.backend.instance.sessions.revoke(ctx.session_id)
        logger.info("WCAP logout: user %r%s", ctx.user or "",
                    "" if revoked else " (session already gone)")
    # The dead id is not echoed in the text/js header.
    return Result(errno=WcapErrno.LOGOUT, session=SessionInfo())


@handler("check_id")
def check_id(ctx, params) -> Result:
    sid = params.get("id")
    alive = bool(sid) and ctx.backend.session_user(sid) is not None
    return Result(props=[Prop("X-NSCP-WCAP-CHECK-ID", "1" if alive else "0")],
                  session=SessionInfo())
