"""Dates as the Event CRUD API spells them (seed 003, "Create A New Event").

The spec lets ``starting_date``, ``ending_date`` and ``exceptions`` be either
``"yyyy-mm-dd"`` or "julian day numbers as documented in the Source Code
Guide".  That guide is not public; we take the astronomical Julian Day Number
of the civil (proleptic Gregorian) date, i.e. the JDN of the day's noon, so
2000-01-01 is 2451545.  Python's ordinal (0001-01-01 is 1) is a fixed offset
from it, which keeps the conversion exact for every ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
import re

#: JDN of 0001-01-01 minus its proleptic Gregorian ordinal (1).
_JDN_OFFSET = 1721425

JDN_MIN = dt.date.min.toordinal() + _JDN_OFFSET  # 0001-01-01
JDN_MAX = dt.date.max.toordinal() + _JDN_OFFSET  # 9999-12-31

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS = re.compile(r"^\d{1,7}$")


def date_to_jdn(date: dt.date) -> int:
    """Astronomical Julian Day Number of ``date`` (2000-01-01 -> 2451545)."""
    return date.toordinal() + _JDN_OFFSET


def jdn_to_date(jdn: int) -> dt.date:
    """Inverse of :func:`date_to_jdn`; ``ValueError`` outside years 1-9999."""
    if isinstance(jdn, bool) or not isinstance(jdn, int):
        raise ValueError(f"julian day number must be an integer, not {jdn!r}")
    if not JDN_MIN <= jdn <= JDN_MAX:
        raise ValueError(f"julian day number {jdn} is outside years 1-9999")
    return dt.date.fromordinal(jdn - _JDN_OFFSET)


def parse_api_date(value) -> dt.date:
    """Read a date the way the spec allows: ``"yyyy-mm-dd"`` or a JDN.

    A JDN may arrive as a JSON number or as a string of digits (form posts
    and some clients quote every value).  Booleans are refused although
    Python counts them as ints: ``true`` is not day 1.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, int):
        return jdn_to_date(value)
    if isinstance(value, float) and value.is_integer():
        return jdn_to_date(int(value))
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.match(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not a calendar date: {value!r}") from None
        if _DIGITS.match(text):
            return jdn_to_date(int(text))
    raise ValueError(f"date must be \"yyyy-mm-dd\" or a julian day number, not {value!r}")
