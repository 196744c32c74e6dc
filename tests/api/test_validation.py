"""validation.py: bodies against the served document, failures a client can act on."""

import json

import pytest

from radicale_wcap.api import validation
from radicale_wcap.api.validation import MAX_PROBLEMS, BodyInvalid, check, problems


def messages(schema, body):
    return [p.message for p in problems(schema, body)]


def test_references_are_resolved_once_into_the_validator():
    text = json.dumps(validation._validator("NewEvent").schema)
    assert "$ref" not in text and '"title": "a date (yyyy-mm-dd' in text
    assert validation._validator("NewEvent") is validation._validator("NewEvent")


def test_shape_failures_come_first_in_field_order():
    found = problems("NewEvent", {"rec_type": "x", "colour": 1, "exceptions": ["x"]})
    assert [(p.pointer, p.keyword) for p in found] == [
        ("/title", "required"), ("/starting_date", "required"), ("/rec_type", "type"),
        ("/rec_type", "enum"), ("/exceptions/0", "pattern"), ("", "additionalProperties")]


def test_pointers_escape_and_values_are_shortened():
    [problem] = problems("Event", {"a/b~c": 1})
    assert problem.message == '/: unknown field(s): "a/b~c"'
    [problem] = problems("Event", {"starting_time": "9" * 10000})
    assert problem.pointer == "/starting_time" and len(problem.message) < 120


def test_failures_are_capped_and_big_lists_end_the_check():
    assert len(problems("Event", {"exceptions": ["x"] * 500})) == MAX_PROBLEMS
    assert messages("Event", {"exceptions": ["x"] * 1001}) == \
        ["/exceptions: has more than 1000 items"]


ICS = {"action": "createcalendar", "event-title": "t", "event-description": "",
       "event-location": "", "event-start-datetime": "2024-01-01T10:00",
       "event-end-datetime": "2024-01-01T11:00", "event-timezone": "UTC"}


@pytest.mark.parametrize("action, missing", [(..., True), (None, True), (5, False), ("x", False)])
def test_missing_means_absent_or_null(action, missing):
    body = {k: v for k, v in dict(ICS, action=action).items() if v is not ...}
    [first] = problems("IcsRequest", body)
    assert first.field == "action" and first.missing is missing
    assert problems("IcsRequest", ICS) == []


def test_check_raises_with_the_first_message():
    with pytest.raises(BodyInvalid) as info:
        check("Event", {"rec_months": [13]})
    assert info.value.message == "/rec_months/0: must be at most 12"
    check("Event", {"rec_months": [12], "rec_until": None, "calendar": ""})
