"""The WCAP command table: one `Command` row per command, one `Param` per parameter row.

Rows follow the manual's Table 7-1 (37 commands) and each command's parameter table
(7-9 .. 7-44), in the manual's spelling, plus the WCAP 3.x commands of the Calendar
Server 6 docs ([Q1]/[Q4]/[63] in docs/wcap-clients.md#sources: gettime,
fetch_deletedcomponents, list, list_subscribed, subscribe_calendars, unsubscribe_calendars)
and the parameters real clients send that the 2002 manual lacks (each with a ``note``).

`radicale_wcap.wcap.dispatch` reads this table: it checks the session per
``Command.session``, parses every ``Param`` (unknown keys are ignored: clients send
``appid`` and more everywhere), applies defaults, and maps a bad value to
``Command.bad_param_errno`` (a missing ``calid`` to 38 CALID_NOT_SPECIFIED, a bad
``tzid``/``tzidout`` to ``Command.bad_tzid_errno``). Handlers get typed values.

A default of ``None`` for ``calid`` means "the current user's calendar" (the handler
knows the user); ``tzid`` ``None`` means the server default zone.  Rows shared by many
of the manual's tables, and the parameter tables several commands share, are in
``param_rows.py``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping

from ..errors import WcapErrno as E
from ..params import Bool, DateTime, Int, Keyword, Param, SemicolonList, Text, TzId
from .param_rows import (APPID, ATTRSET, BRIEF, CALID_ONE, CALID_REQ, CALIDS, COMPONENT_TYPE,
                         COMPRESSED, DELETE_BY_ID_PARAMS, DELETE_RANGE_PARAMS, DTEND, DTSTART,
                         FETCH_BY_ID_PARAMS, FETCH_RANGE_PARAMS, FMT_OUT, ID, MAXRESULTS,
                         TZID, TZIDOUT, VERIFY_PARAMS, WCAP3_FETCH, store_params)


class Session(enum.Enum):
    """How a command uses ``id``.

    REQUIRED: missing/invalid/expired ``id`` -> errno 1 LOGIN_FAILED (and only then).
    NONE: ``id`` is not a session for this command (login, version, get_guids,
    check_id whose ``id`` is the value being checked).
    OPTIONAL: a valid ``id`` gives the handler a user; a bad one is not an error
    (logout: a client quitting with an expired session must not be sent to re-login).
    """

    REQUIRED = "required"
    NONE = "none"
    OPTIONAL = "optional"


@dataclass(frozen=True)
class Command:
    name: str
    manual: str
    session: Session
    params: tuple[Param, ...]
    failed: E = E.NOT_FOUND
    bad_param: E | None = None
    bad_tzid: E | None = None
    fmt_out: str | None = None
    # The parameter that picks the answer's format over fmt-out (export's content-out:
    # its answer is a file of that type).
    format_param: str | None = None
    http_methods: tuple[str, ...] = ("GET", "POST")
    note: str = ""

    @property
    def bad_param_errno(self) -> E:
        return self.bad_param if self.bad_param is not None else self.failed

    @property
    def bad_tzid_errno(self) -> E:
        return self.bad_tzid if self.bad_tzid is not None else self.bad_param_errno

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


S = Session

_ROWS = (
    # ---- Table 7-1, in the manual's order
    Command("addlink", "Table 7-9", S.REQUIRED, (
        Param("destCal", Text(), required=True), ID,
        Param("rid", SemicolonList(DateTime()), required=True),
        Param("srcCal", Text(), required=True),
        Param("uid", SemicolonList(Text()), required=True), FMT_OUT),
        failed=E.ADDLINK_FAILED, note="deprecated in [Q1]"),
    Command("change_password", "Table 7-10", S.REQUIRED, (
        ID, Param("newPassword", Text(), required=True),
        Param("oldPassword", Text(), required=True), FMT_OUT),
        failed=E.CHANGE_PASSWORD_FAILED),
    Command("check_id", "Table 7-11", S.NONE, (ID, FMT_OUT), failed=E.BAD_ARGUMENTS,
            note="id is the value checked: an invalid one answers X-NSCP-WCAP-CHECK-ID:0, "
                 "not errno 1"),
    Command("createcalendar", "Table 7-12", S.REQUIRED, (
        Param("calid", Text(), None,
              note="manual: required; Oracle CS 7/8 takes none and makes it from name "
                   "(the handler answers 38 when neither is sent)"),
        ID, FMT_OUT, Param("set_calprops", Bool(), False),
        Param("name", Text()), Param("categories", SemicolonList(Text())),
        Param("description", Text(), aliases=("desc",), note="desc: Oracle CS 7/8"),
        Param("fbinclude", Bool(), None, note="Oracle CS 7/8; accepted, not stored"),
        Param("tzid", TzId()), Param("acl", SemicolonList(Text())),
        Param("owners", SemicolonList(Text())), Param("lang", Text()), Param("charset", Text()),
        Param("master", Text()),
        Param("doublebooking", Bool(), note="2005Q4 set_calprops name (set_calprops=1)"),
        Param("allowdoublebook", Bool(), note="6.3 createcalendar name"),
        Param("subscribe", Bool(), False, note="6.3: add to the creator's icsSubscribed"),
        Param("webname", Text(), note="ours: the Trumba import door's name"), APPID),
        failed=E.CREATECALENDAR_FAILED, bad_param=E.ILLEGAL_CALID_NAME),
    Command("deletecalendar", "Table 7-13", S.REQUIRED, (CALID_REQ, ID, FMT_OUT),
            failed=E.DELETECALENDAR_FAILED),
    Command("deletecomponents_by_range", "Table 7-14", S.REQUIRED, DELETE_RANGE_PARAMS,
            failed=E.DELETECOMPONENTS_BY_RANGE_FAILED),
    Command("deleteevents_by_id", "Table 7-15", S.REQUIRED, DELETE_BY_ID_PARAMS,
            failed=E.DELETE_EVENTS_BY_ID_FAILED),
    Command("deleteevents_by_range", "Table 7-16", S.REQUIRED, DELETE_RANGE_PARAMS + (TZID,),
            failed=E.DELETEEVENTS_BY_RANGE_FAILED),
    Command("deletetodos_by_id", "Table 7-17", S.REQUIRED, DELETE_BY_ID_PARAMS,
            failed=E.DELETE_TODOS_BY_ID_FAILED),
    Command("deletetodos_by_range", "Table 7-18", S.REQUIRED, DELETE_RANGE_PARAMS + (TZID,),
            failed=E.DELETETODOS_BY_RANGE_FAILED),
    Command("export", "Table 7-19", S.REQUIRED, (
        CALIDS, Param("content-out", Keyword("text/calendar", "text/xml"), required=True),
        DTEND, DTSTART, ID),
        failed=E.NOT_FOUND, bad_param=E.BAD_ARGUMENTS, fmt_out="text/calendar",
        format_param="content-out",
        note="manual: HTTP POST (multipart); GET and form POSTs accepted too; the answer "
             "is the file content-out names, whatever fmt-out says"),
    Command("fetchcomponents_by_alarmrange", "Table 7-20", S.REQUIRED, FETCH_RANGE_PARAMS,
            failed=E.FETCH_BY_ALARM_RANGE_FAILED),
    Command("fetchcomponents_by_attendee_error", "Table 7-21", S.REQUIRED, (
        Param("attendee", Text()), BRIEF, CALIDS, COMPONENT_TYPE, COMPRESSED, FMT_OUT, ID,
        MAXRESULTS, TZIDOUT) + WCAP3_FETCH,
        failed=E.FETCH_BY_ATTENDEE_ERROR_FAILED),
    Command("fetchcomponents_by_lastmod", "Table 7-22", S.REQUIRED, FETCH_RANGE_PARAMS,
            failed=E.FETCH_BY_LAST_MODIFIED_FAILED),
    Command("fetchcomponents_by_range", "Table 7-23", S.REQUIRED, FETCH_RANGE_PARAMS + (ATTRSET,),
            failed=E.FETCHBYDATERANGE_FAILED, bad_tzid=E.FETCHCOMPONENTS_FAILED_BAD_TZID),
    Command("fetchevents_by_id", "Table 7-24", S.REQUIRED, FETCH_BY_ID_PARAMS,
            failed=E.FETCH_EVENTS_BY_ID_FAILED, bad_tzid=E.FETCHCOMPONENTS_FAILED_BAD_TZID,
            note="not found must be 9 or 59 (Lightning then tries fetchtodos_by_id)"),
    Command("fetchtodos_by_id", "Table 7-25", S.REQUIRED, FETCH_BY_ID_PARAMS,
            failed=E.FETCH_TODOS_BY_ID_FAILED, bad_tzid=E.FETCHCOMPONENTS_FAILED_BAD_TZID,
            note="not found should be 59 (Lightning only hides 9 and 59)"),
    Command("get_all_timezones", "Table 7-26", S.REQUIRED, (
        Param("dtend", DateTime(), None,
              note="crossover dates (text/js timezoneList) before this instant; "
                   "0 or absent: to the last known year, 2087"),
        Param("dtstart", DateTime(), None,
              note="crossover dates from this instant; 0 or absent: from the first "
                   "known year, 1987"),
        FMT_OUT, ID, APPID,
        Param("tzid", TzId(), None, note="not in the manual: asks for one zone")),
        failed=E.GET_ALL_TIMEZONES_FAILED,
        note="malformed dtstart/dtend or dtend before dtstart: errno 24"),
    Command("get_calprops", "Table 7-27", S.OPTIONAL, (
        CALIDS, FMT_OUT, ID, APPID, Param("invitecount", Bool(), False, note="[63]")),
        failed=E.GET_CALPROPS_FAILED,
        note="no id: anonymous, for public calendars (manual 'Session Identifier'); "
             "a dead id is still errno 1 (the handler checks, session.viewer)"),
    Command("get_freebusy", "Table 7-28", S.REQUIRED, (
        Param("busyonly", Bool(), True,
              note="manual default 0; [Q4] (WCAP 3.x, which version.wcap claims) says 1. "
                   "Lightning always sends it, so only the 3.x default is exposed"),
        CALIDS,
        Param("dtstart", DateTime(zero_allowed=False), None,
              note="manual: required; [Q4]: not needed with duration or freebusybegin/"
                   "freebusyend, so the handler checks that one window is given (errno 39)"),
        Param("dtend", DateTime(zero_allowed=False), None, note="as dtstart"),
        FMT_OUT, ID, TZID, TZIDOUT,
        Param("duration", Int(1), None,
              note="[Q4] whole days from dtstart (or now); [Q4] says Integer, not an "
                   "ISO 8601 duration; overrides the other ways"),
        Param("freebusybegin", Int(0), None, note="[Q4] days before now (30 if only "
                                                   "freebusyend is sent)"),
        Param("freebusyend", Int(0), None, note="[Q4] days after now (30 if only "
                                                 "freebusybegin is sent)"),
        Param("mail", SemicolonList(Text()), None, note="[Q4] each address as calid=mailto:addr"),
        APPID),
        failed=E.GET_FREEBUSY_FAILED),
    Command("get_guids", "Table 7-29", S.NONE, (
        Param("guidCount", Int(1, 1000), 1, aliases=("count",),
              note="capped at 1000 so one GET cannot ask for millions"), FMT_OUT),
        failed=E.BAD_ARGUMENTS, note="manual: the client need not be authenticated"),
    Command("get_userprefs", "Table 7-30", S.REQUIRED, (
        FMT_OUT, ID, Param("userid", Text(), None,
                           note="manual: admin only; Lightning always sends its own id")),
        failed=E.GET_USERPREFS_FAILED),
    Command("import", "Table 7-31", S.REQUIRED, (
        APPID, CALID_REQ, Param("content-in", Keyword("text/calendar", "text/xml"), required=True),
        DTEND, DTSTART, ID, FMT_OUT),
        failed=E.WRITE_IMPORT_FAILED, bad_param=E.BAD_IMPORT_ARGUMENTS, http_methods=("POST",),
        note="multipart POST; the body is read by the import handler"),
    Command("login", "Table 7-32", S.NONE, (
        FMT_OUT, Param("lang", Text()), Param("password", Text()),
        Param("refresh", Bool(), None), Param("user", Text()), APPID),
        # Not errno 1: a login the server can not record (disk full) is no wrong password.
        failed=E.NOT_FOUND,
        note="bad credentials -> errno 1 (Lightning prompts again); a server failure -> "
             "53; text/html is not served"),
    Command("logout", "Table 7-33", S.OPTIONAL, (FMT_OUT, ID), failed=E.NOT_FOUND,
            note="success is errno -1 (Lightning expects it)"),
    Command("ping", "manual 'ping' (no table)", S.REQUIRED, (FMT_OUT, ID), failed=E.NOT_FOUND),
    Command("search_calprops", "Table 7-34", S.REQUIRED, (
        Param("calid", Bool(), False, note="a boolean flag here, not a calendar id"), ID,
        FMT_OUT, Param("maxResults", Int(0), 200), Param("name", Bool(), False),
        Param("primaryOwner", Bool(), False), Param("searchOpts", Int(0, 3), 0),
        Param("search-string", Text(), required=True)),
        failed=E.SEARCH_CALPROPS_FAILED),
    Command("set_calprops", "Table 7-35", S.REQUIRED, (
        Param("acl", SemicolonList(Text())),
        Param("cal", Text(), repeat=True, note="encoded parameter list per calendar"),
        Param("calid", Text(), None, note="required unless cal is sent (the Multiple "
              "Calendars Example has no calid); the handler answers 38"),
        Param("categories", SemicolonList(Text())), Param("charset", Text()),
        Param("description", Text()), FMT_OUT, ID, Param("lang", Text()),
        Param("master", Text()), Param("multiple", Int(0), 0), Param("name", Text()),
        Param("owners", SemicolonList(Text())), Param("read", Int(allowed=(0, 1, 4))),
        Param("tzid", TzId()), Param("write", Int(allowed=(0, 1, 4))),
        Param("doublebooking", Bool(), note="2005Q4 Table 7-29"),
        Param("primaryOwner", Text(), note="ours, administrators only"),
        Param("webname", Text(), note="ours: the Trumba import door's name ('' removes it)"),
        APPID),
        failed=E.SETCALPROPS_FAILED),
    Command("set_userprefs", "Table 7-36", S.REQUIRED, (
        Param("add_attrs", SemicolonList(Text())), Param("convertCalid", Bool(), False),
        Param("del_attrs", SemicolonList(Text())), FMT_OUT, ID,
        Param("set_attrs", SemicolonList(Text())), Param("userid", Text())),
        failed=E.SET_USERPREFS_FAILED),
    Command("storeevents", "Table 7-37", S.REQUIRED, store_params("event"),
            failed=E.STOREEVENTS_FAILED),
    Command("storetodos", "Table 7-39", S.REQUIRED, store_params("todo"),
            failed=E.STORETODOS_FAILED),
    Command("upload_file", "Table 7-40", S.REQUIRED, (ID, FMT_OUT), failed=E.WRITE_IMPORT_FAILED,
            http_methods=("POST",), note="deprecated in favour of import"),
    Command("verifyevents_by_ids", "Table 7-41", S.REQUIRED, VERIFY_PARAMS,
            failed=E.FETCH_EVENTS_BY_ID_FAILED, bad_param=E.INSUFFICIENT_PARAMETERS,
            fmt_out="text/calendar", note="the manual's default fmt-out here is text/calendar"),
    Command("verifytodos_by_ids", "Table 7-42", S.REQUIRED, VERIFY_PARAMS,
            failed=E.FETCH_TODOS_BY_ID_FAILED, bad_param=E.INSUFFICIENT_PARAMETERS,
            fmt_out="text/calendar", note="the manual's default fmt-out here is text/calendar"),
    Command("version", "Table 7-43", S.NONE, (FMT_OUT,), failed=E.NOT_FOUND,
            note="Lightning sends it without id before every login"),
    Command("write_file", "Table 7-44", S.REQUIRED, (
        CALID_REQ, Param("content-in", Keyword("text/calendar", "text/xml"), required=True),
        DTEND, DTSTART, ID, Param("uniquefilename", SemicolonList(Text()), required=True),
        FMT_OUT),
        failed=E.WRITE_IMPORT_FAILED, bad_param=E.BAD_IMPORT_ARGUMENTS,
        note="deprecated in favour of import"),
    # ---- WCAP 3.x ([Q1]/[Q4]/[63])
    Command("gettime", "[Q4] gettime", S.REQUIRED, (CALID_ONE, FMT_OUT, ID, TZIDOUT, APPID),
            failed=E.GETTIME_FAILED),
    Command("fetch_deletedcomponents", "[63] fetch_deletedcomponents", S.REQUIRED, (
        CALIDS, COMPONENT_TYPE, DTEND, DTSTART, FMT_OUT, ID, MAXRESULTS, TZID, TZIDOUT,
        COMPRESSED) + WCAP3_FETCH,
        failed=E.FETCH_DELETEDCOMPONENTS_FAILED),
    Command("list", "[Q4] list", S.REQUIRED, (FMT_OUT, ID, Param("userid", Text()), APPID),
            failed=E.LIST_FAILED),
    Command("list_subscribed", "[Q4] list_subscribed", S.REQUIRED, (
        FMT_OUT, ID, Param("userid", Text()), APPID), failed=E.LIST_SUBSCRIBED_FAILED),
    Command("subscribe_calendars", "[Q4] subscribe_calendars", S.REQUIRED, (
        Param("calid", SemicolonList(Text()), required=True), FMT_OUT, ID,
        Param("userid", Text()), APPID), failed=E.SUBSCRIBE_FAILED),
    Command("unsubscribe_calendars", "[Q4] unsubscribe_calendars", S.REQUIRED, (
        Param("calid", SemicolonList(Text()), required=True), FMT_OUT, ID,
        Param("userid", Text()), APPID), failed=E.UNSUBSCRIBE_FAILED),
)

COMMANDS: Mapping[str, Command] = {row.name: row for row in _ROWS}

# Table 7-1 lists these 37 in alphabetical order; the tests check the table covers them.
MANUAL_TABLE_7_1 = (
    "addlink", "change_password", "check_id", "createcalendar", "deletecalendar",
    "deletecomponents_by_range", "deleteevents_by_id", "deleteevents_by_range",
    "deletetodos_by_id", "deletetodos_by_range", "export", "fetchcomponents_by_alarmrange",
    "fetchcomponents_by_attendee_error", "fetchcomponents_by_lastmod",
    "fetchcomponents_by_range", "fetchevents_by_id", "fetchtodos_by_id", "get_all_timezones",
    "get_calprops", "get_freebusy", "get_guids", "get_userprefs", "import", "login", "logout",
    "ping", "search_calprops", "set_calprops", "set_userprefs", "storeevents", "storetodos",
    "upload_file", "verifyevents_by_ids", "verifytodos_by_ids", "version", "write_file",
)
WCAP3_COMMANDS = ("gettime", "fetch_deletedcomponents", "list", "list_subscribed",
                  "subscribe_calendars", "unsubscribe_calendars")
