"""export (Table 7-19): every event and todo of the calendars, for a later ``import``.

The file is the stored components as they are (masters with their rules plus their
RECURRENCE-ID exceptions: what ``import`` needs to recreate the series), times in UTC,
from all requested calendars; ``dtstart``/``dtend`` (0: open) keep what overlaps.
The user needs read access to all of them ("The user must have read access to all
calendars in the list"), so one failing calendar fails the export with its errno.

Known gap, in the dispatcher rather than here: the manual's answer is a file,
``Content-Type`` per ``content-out`` with ``Content-disposition: attachment;
filename="export.ics"`` (or ``export.xml``). `Result` has no place for HTTP headers and
the dispatcher renders per ``fmt-out``, so the table row defaults ``fmt-out`` to
text/calendar and a text/xml export needs ``fmt-out=text/xml`` too. `FILENAMES` holds
the names sent in ``Content-Disposition``.
"""

from __future__ import annotations

from .. import components as comps
from ..backend import require, resolve
from ..result import Result
from . import handler
from .fetch import default_calid

FILENAMES = {"text/calendar": "export.ics", "text/xml": "export.xml"}


@handler("export")
def export(ctx, params) -> Result:
    instance = ctx.backend.instance
    start, end = params.get("dtstart"), params.get("dtend")
    shape = comps.Shape(recurring=True, compressed=True)
    found = []
    for text in params.get("calid") or [default_calid(ctx)]:
        calendar = resolve(ctx.backend, ctx.user, text)
        require(calendar, "read")
        items = comps.read_calendar(instance, calendar, start=start, end=end)
        # No ctx: addresses stay as stored (no X-S1CS-* decoration in a file meant
        # for import).
        found += comps.output_components(None, params, calendar, items, range_start=start,
                                         range_end=end, shape=shape)
    filename = FILENAMES.get(ctx.fmt_out, FILENAMES["text/calendar"])
    return Result(components=found,
                  headers=[("Content-Disposition", 'attachment; filename="%s"' % filename)])
