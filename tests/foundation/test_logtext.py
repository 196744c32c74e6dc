"""Request text in log lines: shortened, both ends kept, Radicale's records too."""

import logging

import pytest

from radicale_wcap.logtext import LIMIT, RequestTextFilter, cap_radicale_log_lines, shorten


@pytest.mark.parametrize("length", [0, 1, LIMIT - 1, LIMIT])
def test_short_text_is_unchanged(length):
    assert shorten("a" * length) == "a" * length


@pytest.mark.parametrize("length, limit", [(LIMIT + 1, LIMIT), (100_000, LIMIT), (50, 10),
                                           (5, 3)])
def test_long_text_keeps_both_ends_within_the_limit(length, limit):
    text = "h" + "m" * (length - 2) + "t"
    short = shorten(text, limit)
    assert len(short) <= limit
    assert short.startswith("h") and short.endswith("t") and "…" in short


def test_not_text_is_shortened_as_its_string():
    assert len(shorten(ValueError("x" * 1000))) == LIMIT


def _record(msg, args, level=logging.WARNING):
    return logging.LogRecord("radicale", level, __file__, 1, msg, args, None)


def test_filter_shortens_arguments_but_not_numbers():
    record = _record("Failed login attempt from %s: %r (%d)", ("127.0.0.1", "x" * 10_000, 7))
    assert RequestTextFilter().filter(record)
    message = record.getMessage()
    assert len(message) < 300 and message.startswith("Failed login attempt from 127.0.0.1: 'x")
    assert message.endswith("(7)")


def test_filter_shortens_a_preformatted_line_and_keeps_its_end():
    record = _record("PUT response status for '/%s' in 0.1 seconds: 201 Created" % ("p" * 5000),
                     ())
    RequestTextFilter().filter(record)
    assert len(record.getMessage()) <= 1000 and record.getMessage().endswith("201 Created")


def test_filter_leaves_debug_records_alone():
    record = _record("Request content:\n%s", ("c" * 5000,), logging.DEBUG)
    RequestTextFilter().filter(record)
    assert len(record.getMessage()) > 5000


def test_installed_once_on_radicale_logger():
    cap_radicale_log_lines()
    cap_radicale_log_lines()
    filters = logging.getLogger("radicale").filters
    assert sum(isinstance(f, RequestTextFilter) for f in filters) == 1
