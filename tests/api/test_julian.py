import datetime as dt

import pytest

from radicale_wcap.api.julian import JDN_MAX, JDN_MIN, date_to_jdn, jdn_to_date, parse_api_date


@pytest.mark.parametrize("date, jdn", [
    (dt.date(2000, 1, 1), 2451545),   # J2000 epoch day
    (dt.date(1858, 11, 17), 2400001),  # MJD 0 is JD 2400000.5, i.e. this noon is JDN 2400001
    (dt.date(1970, 1, 1), 2440588),
    (dt.date(2021, 12, 17), 2459566),
])
def test_known_days(date, jdn):
    assert date_to_jdn(date) == jdn
    assert jdn_to_date(jdn) == date


def test_range_round_trips():
    assert jdn_to_date(JDN_MIN) == dt.date.min and jdn_to_date(JDN_MAX) == dt.date.max
    with pytest.raises(ValueError):
        jdn_to_date(JDN_MIN - 1)
    with pytest.raises(ValueError):
        jdn_to_date(True)


@pytest.mark.parametrize("value", ["2000-01-01", 2451545, "2451545", 2451545.0, " 2000-01-01 "])
def test_parse_either_form(value):
    assert parse_api_date(value) == dt.date(2000, 1, 1)


@pytest.mark.parametrize("value", ["2000-02-30", "01/01/2000", "", None, True, [], "20000101x", 1.5])
def test_parse_refuses(value):
    with pytest.raises(ValueError):
        parse_api_date(value)
