"""WCAP parameter values: raw request parsing and one parser per value type.

The manual (ch. 7, "Recurrence Handling", "Time Zones", each command's parameter table)
and real clients (docs/wcap-clients.md#list-parameters, docs/wcap-clients.md#mod-and-rid,
docs/wcap-clients.md#times) define the wire forms; this package turns them into Python
values so that handlers never see text:

* `raw_request(query, body, content_type)` -> ``{key: [raw value, ...]}``, still
  percent-encoded (``query.py``: why, and how ``+`` reads);
* `parse_params(table, raw)` -> `Params` (``parse.py``), one value type per row
  (``values.py``, and ``times.py`` for date-times, durations and zones).

Types (each a small class with ``parse(raw) -> value``; a bad value raises
``ValueError`` that `parse_params` turns into the command's bad-parameter errno):

=================  ==========================================================
`Text`             decoded string
`Int(lo, hi)`      integer in a range
`Bool`             ``0``/``1`` -> False/True
`Keyword(...)`     one of a fixed set (case-insensitive), optional fallback
`DateTime`         `WcapTime`: ``0`` (unbounded/none where allowed),
                   ``yyyymmddThhmmssZ`` (UTC), ``yyyymmddThhmmss`` (in ``tzid``),
                   ``yyyymmdd`` (DATE, all-day)
`Duration`         ISO 8601 / RFC 5545 duration, signed (``-PT15M``)
`AlarmTime`        a `DateTime` or a `Duration` (WCAP 3.x ``alarmStart``)
`Attendee`         ``PARAM=VAL^PARAM=VAL^value`` -> `AttendeeValue`
`RRule`            a quoted rule -> upper-cased RRULE text
`TzId`             an IANA zone name, checked with zoneinfo
`SemicolonList(t)` list of ``t``
`Geo`              ``lat;lon`` floats
=================  ==========================================================

Date-times that carry no ``Z`` are resolved after all parameters are parsed: they are
taken in the request's ``tzid`` (or the server default zone) and returned as aware
datetimes *in that zone* (so ``.astimezone(UTC)`` gives the Zulu time and the zone is
still known). ``Z`` values are never shifted by ``tzid`` (manual "Time Zones").
DATE values stay `datetime.date`.
"""

from radicale_wcap.wcap.params.query import (FORM_CONTENT_TYPE, decode, raw_request,
                                             split_list, split_pairs)
from radicale_wcap.wcap.params.values import (Attendee, AttendeeValue, Bool, Geo, Int,
                                              Keyword, RRule, SemicolonList, Text,
                                              ValueType)
from radicale_wcap.wcap.params.times import (STORED_FIRST_DAY, STORED_LAST_DAY, UTC_NAMES,
                                             AlarmTime, DateTime, Duration, TzId, WcapTime,
                                             parse_datetime, parse_duration, zone,
                                             zone_name)
from radicale_wcap.wcap.params.parse import BadParam, Param, Params, parse_params

__all__ = ["FORM_CONTENT_TYPE", "decode", "raw_request", "split_list", "split_pairs",
           "Attendee", "AttendeeValue", "Bool", "Geo", "Int", "Keyword", "RRule",
           "SemicolonList", "Text", "ValueType", "STORED_FIRST_DAY", "STORED_LAST_DAY",
           "UTC_NAMES", "AlarmTime", "DateTime", "Duration", "TzId", "WcapTime",
           "parse_datetime", "parse_duration", "zone", "zone_name", "BadParam", "Param",
           "Params", "parse_params"]
