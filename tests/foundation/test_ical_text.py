"""The one folding and TEXT escaping rule every iCalendar writer of the project uses."""

from radicale_wcap.ical_text import escape_text, fold


def test_fold_keeps_lines_within_75_octets_and_characters_whole():
    line = "SUMMARY:" + "é" * 100 + "x" * 3 + "€" * 40
    folded = fold(line)
    parts = folded.split("\r\n")
    assert len(parts) > 2
    assert all(len(part.encode("utf-8")) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert "".join([parts[0]] + [p[1:] for p in parts[1:]]) == line


def test_fold_leaves_a_short_line_alone():
    assert fold("X" * 75) == "X" * 75
    assert fold("X" * 76) == "X" * 75 + "\r\n X"


def test_escape_text_escapes_backslash_separators_and_every_line_end():
    assert escape_text("a\\b;c,d\r\ne\rf\ng") == "a\\\\b\\;c\\,d\\ne\\nf\\ng"
    assert escape_text("a,b;c", commas=False) == "a,b\\;c"
