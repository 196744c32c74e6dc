"""Error tables of the two JSON front doors (docs/api.md prints them).

ICS generator (seed 002): failures answer
``{"status": "failure", "error-code": ..., "error-info": ...}``.  The spec
names one code, ``E1703`` ("Title cannot be empty for iCalendar."); the rest
of the ``E17xx`` block is ours, one code per failure so that a client can
tell which field to fix without parsing prose.

Event CRUD (seed 003): failures answer ``{"error": 1, "message": ...}``.  The
spec fixes the status per method, including two odd ones we keep because
Connect Daily clients look for ``"error": 1`` rather than at the status: an
invalid PUT answers 200, a failed DELETE that is neither 403 nor 404 answers
200.  A conflicting PUT is 409 (not 412) as the spec says.

``tests/api/test_openapi.py`` checks that every row appears in openapi.json.
"""

from __future__ import annotations

from typing import NamedTuple


class IcsError(NamedTuple):
    name: str
    code: str
    http_status: int
    info: str


ICS_ERRORS: tuple[IcsError, ...] = (
    IcsError("INTERNAL", "E1700", 500, "Internal error; the calendar could not be generated."),
    IcsError("API_KEY_MISSING", "E1701", 401, "The x-api-key header is missing."),
    IcsError("API_KEY_INVALID", "E1702", 401, "The API key is not valid."),
    IcsError("TITLE_EMPTY", "E1703", 400, "Title cannot be empty for iCalendar."),
    IcsError("DESCRIPTION_MISSING", "E1704", 400, "event-description is mandatory."),
    IcsError("LOCATION_MISSING", "E1705", 400, "event-location is mandatory."),
    IcsError("START_MISSING", "E1706", 400, "event-start-datetime is mandatory."),
    IcsError("END_MISSING", "E1707", 400, "event-end-datetime is mandatory."),
    IcsError("TIMEZONE_MISSING", "E1708", 400, "event-timezone is mandatory."),
    IcsError("ACTION_MISSING", "E1709", 400, "action is mandatory."),
    IcsError("ACTION_UNKNOWN", "E1710", 400, "Unknown action; the only action is createcalendar."),
    IcsError("START_INVALID", "E1711", 400, "event-start-datetime is not an ISO 8601 date or date-time."),
    IcsError("END_INVALID", "E1712", 400, "event-end-datetime is not an ISO 8601 date or date-time."),
    IcsError("TIMEZONE_UNKNOWN", "E1713", 400, "event-timezone is not a tz database time zone name."),
    IcsError("END_BEFORE_START", "E1714", 400, "The event ends before it starts."),
    IcsError("ALL_DAY_INVALID", "E1715", 400, "all-day-event must be true or false."),
    IcsError("FIELD_NOT_STRING", "E1716", 400, "A text field is not a string."),
    IcsError("CONTENT_TYPE", "E1717", 415, "The request body must be application/json."),
    IcsError("JSON_INVALID", "E1718", 400, "The request body is not a JSON object."),
    IcsError("BODY_TOO_LARGE", "E1719", 413, "The request body is too large."),
    IcsError("CALENDAR_INVALID", "E1720", 400, "store-in-calendar is not a calendar id (user or user:name)."),
    IcsError("CALENDAR_NOT_FOUND", "E1721", 404, "The calendar named by store-in-calendar does not exist."),
    IcsError("CALENDAR_FORBIDDEN", "E1722", 403, "The API key's user may not write to that calendar."),
    IcsError("FORMAT_UNKNOWN", "E1723", 400, "ics-format must be \"spec\" or \"rfc5545\"."),
    IcsError("METHOD_NOT_ALLOWED", "E1724", 405, "Only POST is allowed."),
)
ICS_BY_NAME = {error.name: error for error in ICS_ERRORS}


class IcsApiError(Exception):
    """A failure of ``POST /api/ics``; the endpoint renders :meth:`body`."""

    def __init__(self, code: str, info: str, http_status: int):
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info
        self.http_status = http_status

    @classmethod
    def of(cls, name: str, info: str | None = None) -> "IcsApiError":
        """The table row ``name``, with ``info`` replacing the generic text."""
        row = ICS_BY_NAME[name]
        return cls(row.code, info or row.info, row.http_status)

    def body(self) -> dict:
        return {"status": "failure", "error-code": self.code, "error-info": self.info}


class RestError(NamedTuple):
    name: str
    http_status: int
    methods: str  # where the spec (or we) use it
    message: str


REST_ERRORS: tuple[RestError, ...] = (
    RestError("BAD_REQUEST", 400, "any", "Malformed request."),
    RestError("UNAUTHORIZED", 401, "any", "Authentication required."),
    RestError("FORBIDDEN", 403, "GET PUT POST DELETE", "Access denied."),
    RestError("NOT_FOUND", 404, "GET PUT DELETE POST-fork", "The event is not found."),
    RestError("METHOD_NOT_ALLOWED", 405, "any", "Method not allowed on this resource."),
    # Refusing other types keeps HTML form posts (CSRF with cached Basic
    # credentials) away from every write.
    RestError("UNSUPPORTED_MEDIA_TYPE", 415, "PUT POST POST-fork", "The request body must be application/json."),
    RestError("BODY_TOO_LARGE", 413, "PUT POST POST-fork", "The request body is too large."),
    # Seed 003 "Event Update Error": HttpResult Code 200 with error 1.
    RestError("UPDATE_INVALID", 200, "PUT", "The event is not valid."),
    RestError("CONFLICT", 409, "PUT", "The event was changed since it was read."),
    # Seed 003 answers 500 for any create error; a bad request body is the
    # client's fault, so 400 — 500 stays for failures of the server.
    RestError("CREATE_INVALID", 400, "POST", "The event is not valid."),
    RestError("CREATE_FAILED", 500, "POST", "The event could not be created."),
    RestError("FORK_INVALID", 400, "POST-fork", "fork needs fork=1 and a starting_date of a recurring event."),
    RestError("FORK_NO_OCCURRENCE", 400, "POST-fork", "The series has no occurrence on that date."),
    # Seed 003 "Delete an Event ... Otherwise Http Result Code: 200".
    RestError("DELETE_FAILED", 200, "DELETE", "The event could not be deleted."),
    RestError("INTERNAL", 500, "any", "Internal error."),
    # The disk is full: nothing was changed; reads still work.
    RestError("INSUFFICIENT_STORAGE", 507, "PUT POST POST-fork DELETE",
              "The server has no room to store the change; nothing was changed."),
)
REST_BY_NAME = {error.name: error for error in REST_ERRORS}


class RestApiError(Exception):
    """A failure of ``/restapi/v1/events``; the endpoint renders :meth:`body`."""

    def __init__(self, name: str, message: str | None = None):
        row = REST_BY_NAME[name]
        super().__init__(f"{name}: {message or row.message}")
        self.name = name
        self.message = message or row.message
        self.http_status = row.http_status

    def body(self) -> dict:
        return {"error": 1, "message": self.message}
