"""Commands that need no calendar store: version, gettime, ping, get_guids.

* ``version`` (Table 7-43): ``X-NSCP-WCAPVERSION:3.0.0``. Lightning refuses a major
  version below 3 ("Insufficient WCAP version", docs/wcap-clients.md#version-answer), so the
  manual's ``1.0.0`` cannot be used; the CS 6 docs say CS 6 "supports WCAP 3.0". The
  [LC-old] provider also required ``X-NSCP-SERVERVERSION`` (and PRODID, which every
  answer has).
  The server version is the ``server_version`` setting, else the package version.
* ``gettime`` ([Q4]): ``X-NSCP-WCAPTIME`` in UTC (``...Z``) by default, which Lightning
  uses to correct its clock; with ``tzidout`` the local time of that zone without ``Z``,
  as [Q4]'s example ``X-NSCP-WCAPTIME:20021021T082743``.
* ``ping`` (manual "ping"): only proves the server and the session are alive; the
  text/js answer carries id/userid/calid like the manual's example. The manual calls it
  administrator-only; nothing is revealed beyond what the session holder knows, so any
  valid session may ping.
* ``get_guids`` (Table 7-29): ``guidCount`` random 128-bit ids as 32 hex digits (the
  manual's GUIDs have that shape), ``X-NSCP-GUID0..n``. No session needed (manual).
"""

from __future__ import annotations

import uuid

from ... import __version__
from ..params import zone
from ..result import Prop, Result
from . import handler

WCAP_VERSION = "3.0.0"


@handler("version")
def version(ctx, params) -> Result:
    server_version = ctx.settings.get("server_version") or __version__
    # The manual's version examples have no METHOD line.
    return Result(method=None, props=[Prop("X-NSCP-WCAPVERSION", WCAP_VERSION),
                                      Prop("X-NSCP-SERVERVERSION", str(server_version))])


@handler("gettime")
def gettime(ctx, params) -> Result:
    now = ctx.now()
    if params.get("tzidout"):
        value = now.astimezone(zone(params["tzidout"])).strftime("%Y%m%dT%H%M%S")
    else:
        value = now.astimezone(zone("UTC")).strftime("%Y%m%dT%H%M%SZ")
    return Result(props=[Prop("X-NSCP-WCAPTIME", value)])


@handler("ping")
def ping(ctx, params) -> Result:
    return Result()


@handler("get_guids")
def get_guids(ctx, params) -> Result:
    return Result(method=None, guids=[uuid.uuid4().hex for _ in range(params["guidCount"])])
