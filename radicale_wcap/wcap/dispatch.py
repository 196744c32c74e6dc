"""One WCAP request in, one answer out: ``(status, headers, body)`` for the middleware.

`WcapDispatcher` is the single place where WCAP failures become protocol answers:

1. ``fmt-out`` (last occurrence; default: the command's own default, else the configured
   one). An unsupported value -> errno 58 NO_SUCH_FORMAT, rendered in the default format.
   A command whose answer is a file names the parameter that picks its format
   (``Command.format_param``: export's ``content-out``); a valid value of it wins over
   fmt-out, for the file and for any error.
2. The command name (``<base><command>.wcap``) is looked up in `COMMANDS`; an unknown
   one -> errno 52 BAD_COMMAND ("The command sent in was not recognized", the WCAP 3.x
   number), never an HTTP error page.
3. The session, per ``Command.session``: a missing, unknown or expired ``id`` where one
   is required -> errno 1 LOGIN_FAILED. Errno 1 is used for that and nothing else,
   because Lightning answers every errno 1 with a new login and the same request again.
4. Parameters (`params.parse_params`): missing ``calid`` -> 38 CALID_NOT_SPECIFIED, bad
   ``tzid``/``tzidout`` -> ``Command.bad_tzid_errno``, any other missing or malformed
   value -> ``Command.bad_param_errno`` (the command's own ``*_FAILED`` number).
5. The handler registered with ``@handler(name)`` (`commands.load_handlers`) gets
   ``(ctx, params)`` and returns a `Result`. A command with no handler yet -> 52
   BAD_COMMAND (logged as not implemented). ``WcapError`` -> its errno. Any other
   exception is logged with its traceback and answered with the command's ``failed``
   errno; nothing of it reaches the client.
6. The Result is rendered in ``fmt-out``. Always HTTP 200 (Lightning treats any other
   status as a network failure), ``charset=utf-8``, no caching.

The backend is anything with ``session_user(sid) -> user or None``; the user object is
handed to handlers as ``ctx.user`` unchanged (``userid``/``calid`` attributes, when it
has them, fill the text/js header). Logs name the command, user and calid, never the
session id or a password.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from . import render as renderers
from .commands import load_handlers
from .commands.table import COMMANDS, Command, Session
from .errors import WcapErrno, WcapError
from .params import BadParam, Params, decode, parse_params, raw_request, zone
from .result import Result, SessionInfo, error_result
from ..ops.access import note

logger = logging.getLogger("radicale.wcap.wcap.dispatch")

Answer = tuple[str, list[tuple[str, str]], bytes]


class WcapBackend(Protocol):
    def session_user(self, sid: str) -> Any | None:
        """The user of a valid session id, or None if unknown or expired."""


@dataclass
class Context:
    """What a handler may use besides its parameters."""

    backend: Any
    command: Command
    user: Any | None
    session_id: str | None
    fmt_out: str
    default_tzid: str
    http_method: str
    body: bytes | None = None
    content_type: str | None = None
    environ: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)

    def now(self) -> dt.datetime:
        """The current time, aware, UTC (injectable for tests)."""
        return self.clock()

    @property
    def userid(self) -> str:
        return user_attr(self.user, "userid")


def user_attr(user: Any, name: str) -> str:
    if user is None:
        return ""
    if isinstance(user, str):
        return user
    value = getattr(user, name, None)
    if value is None and name == "calid":
        value = getattr(user, "userid", None)
    return "" if value is None else str(value)


HEADERS = [("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Expires", "0")]


class WcapDispatcher:
    def __init__(self, backend: WcapBackend, default_fmt_out: str = "text/calendar",
                 default_tzid: str = "UTC", settings: Mapping[str, Any] | None = None,
                 clock: Callable[[], dt.datetime] | None = None,
                 handlers: Mapping[str, Callable] | None = None) -> None:
        if default_fmt_out not in renderers.FORMATS:
            raise ValueError(f"default fmt-out {default_fmt_out!r} is not one of "
                             f"{renderers.FORMATS}")
        zone(default_tzid)
        self.backend = backend
        self.default_fmt_out = default_fmt_out
        self.default_tzid = default_tzid
        self.settings = dict(settings or {})
        self.clock = clock
        # Loaded here, not at the first request, where the catch-all in __call__ would
        # turn a broken handler module into an errno per request instead of a failed start.
        self._handlers = handlers if handlers is not None else load_handlers()

    @property
    def handlers(self) -> Mapping[str, Callable]:
        return self._handlers

    def __call__(self, command_name: str, http_method: str = "GET", query: str = "",
                 body: bytes | None = None, content_type: str | None = None,
                 environ: Mapping[str, Any] | None = None) -> Answer:
        fmt_out = self.default_fmt_out
        try:
            raw = raw_request(query, body if http_method.upper() == "POST" else None,
                              content_type)
            _dead_if_unreadable_id(raw)
            command = COMMANDS.get(command_name)
            fmt_out = (command.fmt_out if command and command.fmt_out else None) \
                or self.default_fmt_out
            chosen = _format_param(raw, command)
            if chosen in renderers.FORMATS:
                fmt_out = chosen
            elif "fmt-out" in raw:
                requested = _requested_format(raw)
                if requested not in renderers.FORMATS:
                    logger.info("WCAP %s: unsupported fmt-out", command_name)
                    return self._answer(error_result(WcapErrno.NO_SUCH_FORMAT),
                                        self.default_fmt_out, environ)
                fmt_out = requested
            if command is None:
                logger.info("WCAP unknown command %r", command_name[:80])
                return self._answer(error_result(WcapErrno.BAD_COMMAND), fmt_out, environ)
            result = self._run(command, http_method.upper(), raw, fmt_out, body,
                               content_type, environ or {})
            return self._answer(result, fmt_out, environ)
        except Exception:
            logger.exception("WCAP %s: unexpected failure", command_name[:80])
            failed = COMMANDS[command_name].failed if command_name in COMMANDS \
                else WcapErrno.NOT_FOUND
            return self._answer(error_result(failed), fmt_out, environ)

    def _run(self, command: Command, http_method: str, raw: Mapping[str, list[str]],
             fmt_out: str, body, content_type, environ) -> Result:
        sid = (decode(raw["id"][-1]).strip() or None) if raw.get("id") else None
        user = None
        if command.session is not Session.NONE and sid:
            user = self.backend.session_user(sid)
        if command.session is Session.REQUIRED and user is None:
            logger.info("WCAP %s: %s session", command.name, "no" if not sid else "invalid")
            return error_result(WcapErrno.LOGIN_FAILED)
        if http_method not in command.http_methods:
            logger.info("WCAP %s: HTTP %s not allowed", command.name, http_method)
            return error_result(command.bad_param_errno)
        try:
            params = parse_params(command.params, raw, self.default_tzid)
        except BadParam as e:
            logger.info("WCAP %s user=%s: bad parameter %s (%s)", command.name,
                        user_attr(user, "userid"), e.name, e.reason)
            if e.name == "calid" and e.missing:
                return error_result(WcapErrno.CALID_NOT_SPECIFIED)
            return error_result(command.bad_tzid_errno if e.tz else command.bad_param_errno)
        func = self.handlers.get(command.name)
        if func is None:
            logger.warning("WCAP %s: not implemented", command.name)
            return error_result(WcapErrno.BAD_COMMAND)
        ctx = Context(self.backend, command, user,
                      sid if command.session is not Session.NONE else None, fmt_out,
                      self.default_tzid, http_method, body, content_type, environ,
                      self.settings)
        if self.clock is not None:
            ctx.clock = self.clock
        try:
            result = func(ctx, params)
        except WcapError as e:
            logger.info("WCAP %s user=%s calid=%s: errno %d %s", command.name,
                        ctx.userid, _calid_for_log(params), int(e.errno), e.detail)
            result = error_result(e.errno)
        except Exception:
            logger.exception("WCAP %s user=%s calid=%s: handler failed", command.name,
                             ctx.userid, _calid_for_log(params))
            result = error_result(command.failed)
        if not isinstance(result, Result):
            logger.error("WCAP %s: handler returned %r, not a Result", command.name,
                         type(result).__name__)
            result = error_result(command.failed)
        if result.session is None:
            result.session = SessionInfo(
                id=sid if user is not None and sid else "0",
                userid=user_attr(user, "userid"), calid=user_attr(user, "calid"))
        if params.get("brief"):
            result.brief = True
        note(environ, user=result.session.userid or ctx.userid, calid=_calid_for_log(params))
        return result

    def refusal(self, command_name: str, query: str, errno: int) -> Answer:
        """An error answer in the requested format, without running the command."""
        fmt_out = self.default_fmt_out
        try:
            raw = raw_request(query, None, None)
            if "fmt-out" in raw:
                requested = _requested_format(raw)
                if requested in renderers.FORMATS:
                    fmt_out = requested
        except Exception:
            pass
        return self._answer(error_result(errno), fmt_out)

    def _answer(self, result: Result, fmt_out: str, environ=None) -> Answer:
        note(environ, errno=int(result.errno))
        try:
            content_type, payload = renderers.render(result, fmt_out)
        except Exception:
            logger.exception("WCAP: cannot render the answer")
            content_type, payload = renderers.render(error_result(WcapErrno.NOT_FOUND), fmt_out)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
        extra = [(k, v) for k, v in result.headers
                 if k.lower() not in ("content-type", "content-length")]
        return "200 OK", headers + HEADERS + extra, payload


# Session ids are letters and digits (`radicale_wcap.sessions`), so this one names none.
DEAD_ID = "-"


def _dead_if_unreadable_id(raw: dict[str, list[str]]) -> None:
    """An ``id`` that is not UTF-8 names no session: it becomes one that is sent and dead
    (errno 1, as for an expired id; check_id answers 0), not a decode error that the
    catch-all would answer with the command's failure."""
    ids = raw.get("id")
    if ids:
        try:
            decode(ids[-1])
        except ValueError:
            ids[-1] = DEAD_ID


def _requested_format(raw: Mapping[str, list[str]]) -> str:
    """The last ``fmt-out``, lower-cased; "" when it is not UTF-8 (errno 58 like any
    unknown format, not the command's failure)."""
    try:
        return decode(raw["fmt-out"][-1]).strip().lower()
    except ValueError:
        return ""


def _format_param(raw: Mapping[str, list[str]], command: Command | None) -> str:
    """The command's ``format_param`` value (export's content-out), lower-cased; "" when
    the command has none, it was not sent or it is not UTF-8."""
    name = command.format_param if command is not None else None
    if not name or name not in raw:
        return ""
    try:
        return decode(raw[name][-1]).strip().lower()
    except ValueError:
        return ""


def _calid_for_log(params: Params) -> str:
    calid = params.get("calid")
    if isinstance(calid, list):
        return ";".join(str(c) for c in calid)[:200]
    return str(calid)[:200] if calid is not None else ""
