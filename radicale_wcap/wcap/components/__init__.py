"""Stored items -> the VEVENT/VTODO components a WCAP fetch answer carries.

Every command that reads components (fetch*, verify*, export, storeevents' ``fetch=1``)
goes through `read_calendar` (index-driven reads, ``reads.py``) and `output_components`
(``output.py``; one component in ``shaping.py``, Table 7-7 in ``compstate.py``, by id
and by alarm in ``selection.py``), so that each request parameter means the same thing
everywhere:

* ``recurring=1`` ([Q4]/[63]): the master with its rule lines plus its RECURRENCE-ID
  exceptions, unexpanded. Lightning always sends it and folds exceptions into the master
  itself (docs/wcap-clients.md#recurring).
* ``recurring=0`` (the [Q4] default): one component per instance, each with its
  RECURRENCE-ID. ``compressed=0`` drops RRULE/RDATE/EXRULE/EXDATE from the instances
  (the Result contract); ``compressed=1`` keeps them, as the manual's compressed form.
  A rule without COUNT/UNTIL yields at most ``recurrence_bound`` instances (manual
  "Recurrence Handling": default 60) when the request has no end; the range bounds the
  rest, and `radicale_wcap.recurrence` caps both count and time.
* Times go out in UTC (manual "Time Zones"), or as local time with ``TZID=<tzidout>``
  (a zone get_all_timezones lists, which Lightning accepts, docs/wcap-clients.md#times);
  all-day values as ``VALUE=DATE``; floating values stay floating. The stored zone of
  DTSTART/DTEND/DUE is kept in ``X-NSCP-DTSTART-TZID`` / ``X-NSCP-DTEND-TZID`` /
  ``X-NSCP-DUE-TZID``, which is how Lightning shows UTC times in the event's own zone
  (docs/wcap-clients.md#component-answers).
* ``emailorcalid`` ([Q4]): 1 -> ``mailto:`` value plus ``X-S1CS-CALID``; 0 -> calid
  value plus ``X-S1CS-EMAIL``. Only addresses of known users get a calid; Lightning tells
  its own events from invitations by ``X-S1CS-CALID`` alone
  (docs/wcap-clients.md#component-answers).
* ``relativealarm=1``: TRIGGERs as durations from the start (Lightning); 0: absolute UTC
  ``VALUE=DATE-TIME`` triggers, as the manual's examples print them.
* ``compstate`` (Table 7-7): `COMPSTATE_RULES`, evaluated for the requesting user.
* Private and confidential items go out as the requesting user's view of them
  (``privacy.py``): every read (`read_calendar`, `read_selected`, `read_uids`) and
  `output_components` (storeevents' ``fetch=1`` answer) apply it.

This face is what the commands import.
"""

from radicale_wcap.wcap.components.reads import (KINDS, LOADS, TS_MAX, TS_MIN, Redacted,
                                                 component_name, read_calendar,
                                                 read_selected, read_uids, shown, timestamp,
                                                 viewer)
from radicale_wcap.wcap.components.compstate import COMPSTATE_RULES, matches_compstate
from radicale_wcap.wcap.components.shaping import Shape, format_value, shape_component
from radicale_wcap.wcap.components.output import PARSED, output_components, series_of
from radicale_wcap.wcap.components.selection import (ALARM_REACH, alarm_components,
                                                     find_instance, fires_between,
                                                     instance_exists, select_instances)

__all__ = ["KINDS", "LOADS", "TS_MAX", "TS_MIN", "Redacted", "component_name",
           "read_calendar", "read_selected", "read_uids", "shown", "timestamp", "viewer",
           "COMPSTATE_RULES", "matches_compstate", "Shape", "format_value",
           "shape_component", "PARSED", "output_components", "series_of", "ALARM_REACH",
           "alarm_components", "find_instance", "fires_between", "instance_exists",
           "select_instances"]
