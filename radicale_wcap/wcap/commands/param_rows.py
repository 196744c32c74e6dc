"""Parameter rows of the WCAP command table (``table.py``) that appear, identical, in
many of the manual's parameter tables, the parameter tables several commands share
(fetch by range and by id, deletes, verify*), Tables 7-37/7-39 (storeevents/storetodos)
and the value sets their rows accept.
"""

from __future__ import annotations

from ..params import (AlarmTime, Attendee, Bool, DateTime, Duration, Geo, Int, Keyword, Param,
                      RRule, SemicolonList, Text, TzId)

# Table 7-7 (compstate). The manual prints REQUEST_NEEDS-ACTION once; Lightning sends
# REQUEST-NEEDS-ACTION (invitations manager), so both spellings mean the same state.
COMPSTATES = ("REPLY-DECLINED", "REPLY-ACCEPTED", "REQUEST-COMPLETED", "REQUEST-NEEDS-ACTION",
              "REQUEST-NEEDSNOACTION", "REQUEST-PENDING", "REQUEST-WAITFORREPLY", "ALL")
COMPSTATE = Keyword(*COMPSTATES, aliases={"REQUEST_NEEDS-ACTION": "REQUEST-NEEDS-ACTION"})

# "Deleting or Modifying Recurring Components": mod 1..4.
MOD = Int(1, 4)
# storeevents method (Table 7-37); 256 is what Lightning sends for an attendee's own
# copy (UPDATE, docs/wcap-clients.md#lightning-store).
METHODS = (1, 2, 4, 8, 16, 32, 256)
# status codes of store* (Table 7-37/7-39).
STATUS_CODES = ("CONFIRMED", "CANCELLED", "TENTATIVE", "NEEDS-ACTION", "COMPLETED",
                "IN-PROCESS", "DRAFT", "FINAL")

# ---------------------------------------------------------------- shared rows
# Each is a row that appears, identical, in many of the manual's tables.

ID = Param("id", Text(), note="session id; checked by the dispatcher per Command.session")
FMT_OUT = Param("fmt-out", Text(), note="checked by the dispatcher; default is configurable")
APPID = Param("appid", Text(), note="runtime only (Table 7-4); Lightning sends "
              "appid=mozilla-calendar on every session command, so every command accepts it")
BRIEF = Param("brief", Bool(), False)
CALIDS = Param("calid", SemicolonList(Text()), None, note="None: the current user's calendar; "
               "an item may be mailto:addr ([Q4])")
CALID_ONE = Param("calid", Text(), None)
CALID_REQ = Param("calid", Text(), required=True)
COMPONENT_TYPE = Param("component-type", Keyword("event", "todo", "all", fallback="all"), "all",
                       note="manual: an invalid value means all")
COMPRESSED = Param("compressed", Bool(), False)
COMPSTATE_ROW = Param("compstate", SemicolonList(COMPSTATE), None, note="None: ALL")
DTSTART = Param("dtstart", DateTime(), None, note="0 or absent: unbounded")
DTEND = Param("dtend", DateTime(), None, note="0 or absent: unbounded")
MAXRESULTS = Param("maxResults", Int(0), 0)
TZID = Param("tzid", TzId(), None, note="None: server default zone")
TZIDOUT = Param("tzidout", TzId(), None, note="None: Zulu")
NOTIFY = Param("notify", Bool(), False)
# WCAP 3.x fetch extras ([Q4]/[63]; Lightning sends all of them on every fetch and store).
RECURRING = Param("recurring", Bool(), False,
                  note="[Q4]: 1 = master + exceptions, 0 = expanded instances; Lightning sends 1")
EMAILORCALID = Param("emailorcalid", Bool(), False,
                     note="[Q4]: 1 = e-mail in ATTENDEE/ORGANIZER value, calid in X-S1CS-CALID")
RELATIVEALARM = Param("relativealarm", Bool(), False,
                      note="Lightning: alarms as relative TRIGGER durations")
ATTRSET = Param("attrset", Int(0, 2), 2, note="[63] fetchcomponents_by_range")
WCAP3_FETCH = (RECURRING, EMAILORCALID, RELATIVEALARM, APPID)

FETCH_RANGE_PARAMS = (BRIEF, CALIDS, COMPONENT_TYPE, COMPRESSED, COMPSTATE_ROW, DTEND, DTSTART,
                      FMT_OUT, ID, MAXRESULTS, TZID, TZIDOUT) + WCAP3_FETCH

FETCH_BY_ID_PARAMS = (BRIEF, CALID_ONE, COMPRESSED, COMPSTATE_ROW, FMT_OUT, ID,
                      Param("mod", MOD, 1), Param("rid", SemicolonList(DateTime()), None,
                                                  note="0: not an instance; Lightning sends one"),
                      TZID, TZIDOUT,
                      Param("uid", SemicolonList(Text()), required=True)) + WCAP3_FETCH

DELETE_RANGE_PARAMS = (APPID, BRIEF, CALIDS, DTEND, DTSTART, FMT_OUT, ID)

DELETE_BY_ID_PARAMS = (APPID, BRIEF, CALID_REQ, FMT_OUT, ID,
                       Param("mod", SemicolonList(Int(0, 4)), required=True,
                             note="Lightning sends one mod for a whole uid/rid list "
                                  "(docs/wcap-clients.md#lightning-delete); "
                                  "the manual's own example sends mod=0 for whole items"),
                       NOTIFY,
                       Param("rid", SemicolonList(DateTime()), required=True,
                             note="0: not an instance"),
                       TZID, Param("uid", SemicolonList(Text()), required=True),
                       Param("smtp", Bool(), None, note="Lightning extra"),
                       Param("smtpNotify", Bool(), None, note="Lightning extra"))


def store_params(kind: str) -> tuple[Param, ...]:
    """Table 7-37 (storeevents) / 7-39 (storetodos) plus Lightning's extras."""
    rows = [
        Param("alarmAudio", AlarmTime()), Param("alarmDescription", Text()),
        Param("alarmEmails", SemicolonList(Text())), Param("alarmFlashing", AlarmTime()),
        Param("alarmPopup", AlarmTime(), note="[Q4]: date-time or ISO 8601 duration"),
        Param("alarmStart", AlarmTime(), note="[Q4]: date-time or ISO 8601 duration (-PT15M)"),
        APPID, Param("attachments", SemicolonList(Text())),
        Param("attendees", SemicolonList(Attendee()), note="attendees= (empty) clears them"),
        BRIEF, CALID_REQ, Param("categories", SemicolonList(Text())), COMPRESSED,
        Param("contacts", SemicolonList(Text())), Param("desc", Text()),
        Param("dtstart", DateTime(zero_allowed=False, stored=True)),
        Param("duration", Duration()),
        Param("exdates", SemicolonList(DateTime(zero_allowed=False, stored=True))),
        Param("exrules", SemicolonList(RRule(), quotes=True)),
        Param("fetch", Bool(), False), FMT_OUT, Param("geo", Geo()),
        Param("icsClass", Keyword("PUBLIC", "PRIVATE", "CONFIDENTIAL")),
        Param("icsUrl", Text()), ID, Param("isAllDay", Bool()), Param("language", Text()),
        Param("location", Text()), Param("method", Int(allowed=METHODS), 1),
        Param("mod", MOD), NOTIFY, Param("orgEmail", Text()), Param("orgUID", Text()),
        Param("priority", Int(0, 9)), Param("rchange", Bool(), False),
        Param("rdates", SemicolonList(DateTime(zero_allowed=False, stored=True))),
        Param("relatedTos", SemicolonList(Text(), quotes=True)),
        Param("replace", Bool(), False), Param("resources", SemicolonList(Text())),
        Param("rid", DateTime(), None, note="0: not an instance"),
        Param("rrules", SemicolonList(RRule(), quotes=True)),
        Param("seq", Int(0)), Param("status", Int(0, len(STATUS_CODES) - 1)),
        Param("summary", Text()),
        Param("tzid", TzId(), None, note="manual: default GMT (dates already Zulu)"),
        TZIDOUT, Param("uid", Text()),
        # Lightning / WCAP 3.x extras (docs/wcap-clients.md#later-store)
        Param("storetype", Int(1, 2), None, note="1 create (63 if it exists), 2 modify (62 "
              "if missing), absent: create-or-update"),
        Param("orgCalid", Text(), note="Lightning: organizer by calid"),
        Param("smtp", Bool(), None), Param("smtpNotify", Bool(), None),
        Param("transparent", Bool(), None, note="Lightning: TRANSP"),
        Param("icsSent", Text(), None),
        Param("comments", Text(), None, note="manual's decline example"),
        Param("charset", Text(), None, note="[63]"),
        RECURRING, EMAILORCALID, RELATIVEALARM,
    ]
    if kind == "event":
        rows.append(Param("dtend", DateTime(zero_allowed=False, stored=True)))
    else:
        rows += [Param("completed", DateTime(stored=True), None, note="0 clears it"),
                 Param("due", DateTime(zero_allowed=False, stored=True)),
                 Param("percent", Int(0, 100))]
    return tuple(rows)


VERIFY_PARAMS = (CALID_ONE, FMT_OUT, ID,
                 Param("rid", SemicolonList(DateTime()), required=True),
                 TZID, Param("uid", SemicolonList(Text()), required=True))
