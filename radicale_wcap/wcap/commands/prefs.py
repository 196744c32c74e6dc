"""get_userprefs (Table 7-30): a user's preferences and the server's, from the directory.

Every preference of the manual's example that this server can fill truthfully is listed
(`USER_PREFS`, in the example's order); values the user stored (``set_userprefs``,
``directory.set_prefs``) replace the computed ones and extra stored keys follow. The
server preferences the manual's description lists are `SERVER_PREFS`.

``userid``: the manual reserves it for administrators, but Lightning sends its own
login name on every login (docs/wcap-clients.md#own-userprefs), so asking for oneself is
allowed; another user's preferences need an administrator (errno 44
USERPREFS_ACCESS_DENIED), and an unknown user is errno 61 GET_USERPREFS_FAILED.

``ceDefaultAlarmStart`` is ``PT15M``, not the manual's ``P15M`` (a Sun bug Lightning
repairs with a regex; a correct duration needs no repair).
"""

from __future__ import annotations

from typing import Callable

from ..errors import WcapErrno, WcapError
from ..result import Prop, Result
from . import handler
from .session import default_calid


def _given_name(user) -> str:
    return user.cn.split(" ", 1)[0] if user.cn else ""


def _surname(user) -> str:
    return user.cn.rsplit(" ", 1)[1] if user.cn and " " in user.cn else ""


def _owned(instance, user) -> str:
    # "calid$name,calid$name" (the manual's icsCalendarOwned); the name is the calid
    # here, because reading every calendar's display name would lock each of them.
    return ",".join(f"{r.calid}${r.calid}" for r in instance.registry.list(owner=user.name))


# (pref name, value from (instance, user)), in the manual example's order.
USER_PREFS: tuple[tuple[str, Callable], ...] = (
    ("cn", lambda i, u: u.cn or u.name),
    ("givenName", lambda i, u: _given_name(u)),
    ("mail", lambda i, u: u.email),
    ("preferredlanguage", lambda i, u: ""),
    ("sn", lambda i, u: _surname(u)),
    ("icsCalendar", lambda i, u: default_calid(u)),
    ("icsTimezone", lambda i, u: u.tz),
    ("icsSubscribed", lambda i, u: ""),
    ("icsFreeBusy", lambda i, u: default_calid(u)),
    ("ceDefaultAlarmStart", lambda i, u: "PT15M"),
    ("ceDefaultAlarmEmail", lambda i, u: u.email),
    ("ceNotifyEnable", lambda i, u: "0"),
    ("ceNotifyEmail", lambda i, u: u.email),
    ("nswcalCALID", lambda i, u: default_calid(u)),
    ("icsCalendarOwned", _owned),
)

# The manual's server preferences, as this server behaves (commands that exist and are
# not restricted by configuration).
SERVER_PREFS: tuple[tuple[str, Callable], ...] = (
    ("allowchangepassword",
     lambda i: "yes" if i.settings.get("auth", "password_backend") == "internal" else "no"),
    ("allowcreatecalendars", lambda i: "yes"),
    ("allowdeletecalendars", lambda i: "yes"),
    ("allowpublicwritablecalendars", lambda i: "yes"),
    ("validateowners", lambda i: "yes"),
    ("allowsetprefs", lambda i: "yes"),
)


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def prefs_target(ctx, params, failed: int):
    """The user whose prefs a request reads or sets (``userid``, else oneself).

    The manual reserves ``userid`` for administrators, but Lightning always
    sends it with the user's own id, so that case is every user's right.
    """
    directory = ctx.backend.instance.directory
    target = (params.get("userid") or "").strip() or ctx.user
    if target != ctx.user:
        requester = directory.get(ctx.user)
        if requester is None or not requester.admin:
            raise WcapError(WcapErrno.USERPREFS_ACCESS_DENIED,
                            "prefs of another user need an administrator")
    user = directory.get(target)
    if user is None:
        raise WcapError(failed, "no such user")
    return user


@handler("get_userprefs")
def get_userprefs(ctx, params) -> Result:
    instance = ctx.backend.instance
    user = prefs_target(ctx, params, WcapErrno.GET_USERPREFS_FAILED)
    stored = {str(k): v for k, v in (user.prefs or {}).items()}
    props = []
    for name, compute in USER_PREFS:
        value = stored.pop(name) if name in stored else compute(instance, user)
        props.append(Prop(f"X-NSCP-WCAP-PREF-{name}", _text(value)))
    props += [Prop(f"X-NSCP-WCAP-PREF-{name}", _text(value))
              for name, value in sorted(stored.items())]
    props += [Prop(f"X-NSCP-WCAP-SERVER-PREF-{name}", compute(instance))
              for name, compute in SERVER_PREFS]
    return Result(props=props)
