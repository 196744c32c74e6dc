import pytest

from radicale_wcap import calid


@pytest.mark.parametrize("cid, path", [("jdoe", "/jdoe/calendar/"),
                                       ("jdoe:work", "/jdoe/work/"),
                                       ("j.doe@example.com:a-b_c", "/j.doe@example.com/a-b_c/")])
def test_round_trip(cid, path):
    assert calid.to_path(cid) == path
    assert calid.from_path(path) == cid


@pytest.mark.parametrize("bad", ["", "jdoe:calendar", "jdoe:", ":work", "a:b:c", "../x",
                                 "jdoe:..", "jdoe:.hidden", "jd/oe", "jdoe:wo/rk", "x" * 65])
def test_illegal_ids_are_refused(bad):
    with pytest.raises(calid.InvalidCalid):
        calid.to_path(bad)


def test_paths_that_are_not_calendars():
    assert calid.from_path("/jdoe/") is None
    assert calid.from_path("/jdoe/cal/item.ics") is None
    assert calid.from_path("/../etc/") is None
