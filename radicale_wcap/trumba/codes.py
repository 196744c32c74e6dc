"""Response codes of the Trumba-style iCalendar import (the "Response Values" table).

One row per row of the Trumba help page "Programmatically upload iCal files":
the number, its level and its description are data here so that the XML
response, the README and the tests all read the same table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(str, enum.Enum):
    INFORMATION = "Information"
    WARNING = "Warning"
    ERROR = "Error"


class Code(enum.IntEnum):
    EVENT_ADDED = 1101
    EVENT_MODIFIED = 1102
    EVENT_DELETED = 1103
    PROPERTY_NOT_RECOGNIZED = 2101
    CONTENT_LINE_INVALID = 2102
    DATETIME_INVALID = 2103
    UTC_OFFSET_INVALID = 2104
    DURATION_INVALID = 2105
    SINGLE_VCALENDAR = 3101


@dataclass(frozen=True)
class Row:
    code: Code
    level: Level
    description: str


TABLE: tuple[Row, ...] = (
    Row(Code.EVENT_ADDED, Level.INFORMATION, "Event added"),
    Row(Code.EVENT_MODIFIED, Level.INFORMATION, "Event modified"),
    Row(Code.EVENT_DELETED, Level.INFORMATION, "Event deleted"),
    Row(Code.PROPERTY_NOT_RECOGNIZED, Level.WARNING, "Property not recognized"),
    Row(Code.CONTENT_LINE_INVALID, Level.WARNING, "Content line is invalid"),
    Row(Code.DATETIME_INVALID, Level.WARNING, "DateTime is invalid"),
    Row(Code.UTC_OFFSET_INVALID, Level.WARNING, "UTC offset is invalid"),
    Row(Code.DURATION_INVALID, Level.WARNING, "Duration is invalid"),
    Row(Code.SINGLE_VCALENDAR, Level.ERROR, "ICS file must contain a single VCALENDAR"),
)

ROWS: dict[Code, Row] = {row.code: row for row in TABLE}


def row(code: int) -> Row:
    """The table row for ``code`` (``ValueError`` for a number not in the table)."""
    return ROWS[Code(code)]
