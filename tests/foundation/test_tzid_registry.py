"""vobject's TZID registry: a zone first met without its VTIMEZONE must not decide how
later items that carry one expand.

In one process, a CalDAV REPORT's item with a bare ``TZID=Europe/Berlin`` made vobject
register pytz's zone, and from then on a weekly Berlin meeting made in January
expanded to 10:00 in summer (tests/wcap/test_clients.py's Berlin series failed only
after tests/foundation/test_caldav_report.py). Europe/Tallinn here, so that no other
test has registered it first.
"""

from __future__ import annotations

import datetime as dt

from radicale import item as radicale_item

from radicale_wcap import icalparse, timezones

ZONE = "Europe/Tallinn"
EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{zone}BEGIN:VEVENT\r\n"
         "UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID={tzid}:20240116T090000\r\n"
         "DTEND;TZID={tzid}:20240116T100000\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n"
         "END:VCALENDAR\r\n")
JULY = dt.datetime(2024, 7, 15, tzinfo=dt.timezone.utc)


def _summer_instance(vcal) -> dt.datetime:
    # what Radicale's expand and free/busy walk: vobject's rruleset
    return vcal.vevent.getrruleset(addRDate=True).after(JULY).astimezone(dt.timezone.utc)


def test_a_bare_tzid_first_does_not_shift_a_later_series_in_summer():
    bare = radicale_item.read_components(EVENT.format(zone="", uid="bare", tzid=ZONE))[0]
    # 09:00 EEST is 06:00Z, also for the item that named its zone without defining it
    assert _summer_instance(bare) == dt.datetime(2024, 7, 16, 6, tzinfo=dt.timezone.utc)
    text = EVENT.format(zone=timezones.vtimezone_text(ZONE), uid="series", tzid=ZONE)
    for parsed in (radicale_item.read_components(text)[0], icalparse.read_one(text)):
        assert _summer_instance(parsed) == dt.datetime(2024, 7, 16, 6, tzinfo=dt.timezone.utc)
        assert "DTSTART;TZID=%s:20240116T090000" % ZONE in parsed.serialize()
