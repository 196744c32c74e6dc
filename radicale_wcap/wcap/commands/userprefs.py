"""set_userprefs (Table 7-36) and change_password (Table 7-10).

set_userprefs: ``set_attrs``/``add_attrs`` hold ``name=value`` items, ``del_attrs``
names. Preferences live in the directory's ``prefs`` of the user, which get_userprefs
prints over its computed values. Names that come from the directory, or that this server
derives (`READ_ONLY`: ``cn``, ``mail``, the default calendar, the owned list), cannot be
set: a request touching one is refused whole (errno 26) so nothing is half-applied.
``icsTimezone`` is the directory's time zone of the user (validated); ``icsSubscribed``
is the list that list_subscribed and (un)subscribe_calendars share, and ``add_attrs`` on
it appends calendars instead of replacing them (Sun stored it as a multi-valued LDAP
attribute). ``convertCalid=1`` turns ``^`` back into ``:`` in ``icsSubscribed`` and
``icsSet``. ``userid`` is for administrators (errno 44 otherwise). The answer is
get_userprefs' ("The function returns the text of get_userprefs").

change_password: the manual lets only administrators use it unless
``service.wcap.allowchangepassword`` is set; here every user may change their own
password when the password backend is the internal directory (the server preference
get_userprefs reports). The old password must verify (a wrong one is errno 27, like every
other failure, and counts as a failed login; during the back-off that follows, the
password is not even checked, as at login). On success every *other* session of the user
is ended, since a password change is how one locks out a stolen session; the session that
made the change stays, so the client is not logged out under its feet. Passwords are never
logged.
"""

from __future__ import annotations

import logging
import re

from radicale_wcap.directory import DirectoryError, validate_tz

from ..errors import WcapErrno, WcapError
from ..result import Result
from . import handler
from .lists import PREF as SUBSCRIBED
from .prefs import get_userprefs, prefs_target

logger = logging.getLogger("radicale.wcap.wcap.commands.userprefs")

PREF_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}\Z")
MAX_VALUE = 4096
# From the directory or computed by the server; get_userprefs shows them, nobody sets them.
READ_ONLY = frozenset({"cn", "givenName", "sn", "mail", "uid", "icsCalendar", "nswcalCALID",
                       "icsCalendarOwned", "icsDWPHost"})
CALID_LISTS = frozenset({SUBSCRIBED, "icsSet"})


def _split_item(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep or not PREF_NAME.match(name):
        raise WcapError(WcapErrno.SET_USERPREFS_FAILED, "bad preference item %r" % name[:64])
    return name, value


def _check_name(name: str) -> None:
    if not PREF_NAME.match(name):
        raise WcapError(WcapErrno.SET_USERPREFS_FAILED, "bad preference name %r" % name[:64])
    if name in READ_ONLY:
        raise WcapError(WcapErrno.SET_USERPREFS_FAILED, "preference %s is read-only" % name)


@handler("set_userprefs")
def set_userprefs(ctx, params):
    instance = ctx.backend.instance
    directory = instance.directory
    user = prefs_target(ctx, params, WcapErrno.SET_USERPREFS_FAILED)
    target = user.name
    changes: dict[str, object] = {}
    tz = None
    for name in params.get("del_attrs") or ():
        name = name.strip()
        if name:
            _check_name(name)
            changes[name] = None
    for kind in ("set_attrs", "add_attrs"):
        for item in params.get(kind) or ():
            if not item.strip():
                continue
            name, value = _split_item(item)
            _check_name(name)
            if len(value) > MAX_VALUE:
                raise WcapError(WcapErrno.SET_USERPREFS_FAILED, "value of %s too long" % name)
            if params.get("convertCalid") and name in CALID_LISTS:
                value = value.replace("^", ":")
            if name == "icsTimezone":
                try:
                    validate_tz(value)
                except DirectoryError as e:
                    raise WcapError(WcapErrno.SET_USERPREFS_FAILED, str(e)) from e
                tz = value
                continue
            if kind == "add_attrs" and name == SUBSCRIBED:
                current = changes.get(name) or user.prefs.get(name) or ""
                value = ",".join(p for p in (current, value) if p)
            changes[name] = value
    if tz is not None:
        directory.update(target, tz=tz)
        changes.pop("icsTimezone", None)
    if changes:
        directory.set_prefs(target, changes)
    logger.info("WCAP set_userprefs user=%s for=%s: %s", ctx.user, target,
                ",".join(sorted(changes) + (["icsTimezone"] if tz else [])))
    return get_userprefs(ctx, {"userid": target})


@handler("change_password")
def change_password(ctx, params):
    instance = ctx.backend.instance
    directory = instance.directory
    user = ctx.user
    if instance.settings.get("auth", "password_backend") != "internal":
        raise WcapError(WcapErrno.CHANGE_PASSWORD_FAILED, "passwords are not ours to change")
    # The same back-off as a login: whoever holds a session must not be able to guess
    # the old password at full speed.
    if directory.login_refused(user):
        raise WcapError(WcapErrno.CHANGE_PASSWORD_FAILED, "refused during the back-off "
                        "after a failed attempt")
    if not directory.verify_password(user, params["oldPassword"]):
        directory.record_failure(user)
        raise WcapError(WcapErrno.CHANGE_PASSWORD_FAILED, "old password wrong")
    try:
        directory.set_password(user, params["newPassword"])
    except DirectoryError as e:
        raise WcapError(WcapErrno.CHANGE_PASSWORD_FAILED, "new password refused: %s" % e) from e
    _end_other_sessions(instance, user, ctx.session_id)
    logger.info("WCAP change_password user=%s: changed, other sessions ended", user)
    return Result()


def _end_other_sessions(instance, user: str, keep: str | None) -> None:
    instance.sessions.revoke_user(user, keep=keep)
