"""Export files as a source: Sun's ``csexport`` and WCAP ``export`` files, in
iCalendar or the manual's iCalendar-in-XML, for one calendar.

The files are read whole and together: a calendar is one batch whatever number of
files it came in. The calendar's properties are not in such files, so an existing
calendar keeps its own and a new one gets this server's defaults (``props_known``).
"""

from __future__ import annotations

import time
from typing import List

from .answer import NotWcap, parse
from .errors import MigrationError
from .model import CalendarEntry, SourceCalendar


def read_files(calid: str, paths: List[str]) -> SourceCalendar:
    started = time.monotonic()
    texts = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise MigrationError("can not read %s: %s" % (path, e.strerror or e)) from None
        try:
            found = parse(data, path)
        except NotWcap as e:
            raise MigrationError("%s is neither iCalendar nor WCAP XML (%s)" % (path, e)
                                 ) from None
        texts.append(found.components)
    entry = CalendarEntry(calid=calid, props_known=False)
    return SourceCalendar(entry=entry, text="".join(texts),
                          read_seconds=time.monotonic() - started)
