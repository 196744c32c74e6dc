from radicale_wcap.trumba.codes import ROWS, TABLE, Code, Level, row


def test_every_code_has_exactly_one_row():
    assert [r.code for r in TABLE] == list(Code)
    assert len(ROWS) == len(TABLE)


def test_levels_follow_the_thousands_digit():
    expected = {1: Level.INFORMATION, 2: Level.WARNING, 3: Level.ERROR}
    for r in TABLE:
        assert r.level is expected[int(r.code) // 1000]


def test_lookup_by_number():
    assert row(3101).description == "ICS file must contain a single VCALENDAR"
    assert row(2103).description == "DateTime is invalid"
