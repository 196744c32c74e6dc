"""export (Table 7-19): every event and todo of the calendars, for a later ``import``.

The file is the stored components as they are (masters with their rules plus their
RECURRENCE-ID exceptions: what ``import`` needs to recreate the series), times in UTC,
from all requested calendars; ``dtstart``/``dtend`` (0: open) keep what overlaps.
The user needs read access to all of them ("The user must have read access to all
calendars in the list"), so one failing calendar fails the export with its errno.

The answer is the file ``content-out`` names, whatever ``fmt-out`` says (the manual:
``Content-Type`` per content-out and ``Content-disposition: attachment;
filename="export.ics"`` or ``export.xml``): clients send ``content-out=text/xml`` and no
fmt-out and read the answer with an XML parser (WCapCal's form POST, php-wcap-client's
POST). The table row names ``content-out`` as the command's ``format_param``, so the
dispatcher lays out the file, and any refusal (with its errno, no file name), in it.
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
    filename = FILENAMES[params["content-out"]]
    return Result(components=found,
                  headers=[("Content-Disposition", 'attachment; filename="%s"' % filename)])
