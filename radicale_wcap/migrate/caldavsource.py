"""Any CalDAV server as a source (Radicale, Baikal, DAViCal, Nextcloud), through the
``caldav`` library: the calendars of one account, every object of each.

Calendar ids follow this server's mapping from the collection's last path segment:
``calendar`` is the user's default calendar (calid ``user``), any other name ``user:name``;
a name this server can not hold is refused in the report, as with WCAP.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import List

import caldav

from .errors import MigrationError
from .model import CalendarEntry, SourceCalendar

DEFAULT_NAMES = ("calendar",)


def _calid(user: str, url: str) -> str:
    segment = urllib.parse.unquote(urllib.parse.urlsplit(str(url)).path.rstrip("/")
                                   .rsplit("/", 1)[-1])
    return user if segment in DEFAULT_NAMES else "%s:%s" % (user, segment)


def read_account(url: str, user: str, password: str) -> List[SourceCalendar]:
    try:
        client = caldav.DAVClient(url=url, username=user, password=password)
        calendars = client.principal().calendars()
    except Exception as e:  # the library raises its own errors and requests' alike
        raise MigrationError("the CalDAV server at %s did not list %s's calendars: %s"
                             % (url, user, str(e)[:200] or type(e).__name__)) from None
    found = []
    for calendar in calendars:
        started = time.monotonic()
        # Only the display name is known; an existing calendar keeps its properties.
        entry = CalendarEntry(calid=_calid(user, calendar.url), owner=user, props_known=False)
        result = SourceCalendar(entry=entry)
        try:
            entry.name = calendar.get_display_name() or ""
            # One calendar-query REPORT with the data (objects() would GET each).
            objects = calendar.search()
            result.text = "".join(obj.data for obj in objects if obj.data)
        except Exception as e:
            result.error = "the CalDAV server would not give it: %s" % (
                str(e)[:200] or type(e).__name__)
        result.read_seconds = time.monotonic() - started
        found.append(result)
    return found
