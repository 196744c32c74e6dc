"""radicale_wcap.recurrence: hostile rules are refused or cut short, normal ones expand
right.  Rule samples and calendar builders the test modules share."""

import datetime as dt

import vobject

UTC = dt.timezone.utc
BUDGET = 0.3
SLACK = 0.4  # scheduling noise on a loaded 2-core box

NEVER_MATCHING = [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=5",
]


def cal(*components):
    return vobject.readOne("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
                           + "".join(components) + "END:VCALENDAR\r\n")


def event(*lines, uid="e1", kind="VEVENT"):
    return "BEGIN:%s\r\nUID:%s\r\n%sEND:%s\r\n" % (kind, uid, "".join(l + "\r\n" for l in lines), kind)


def utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


def starts(expansion):
    return [o.start for o in expansion.occurrences]
