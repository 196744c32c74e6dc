"""openapi.json stays true: structure, error tables, and real event_to_json output."""

import json
import pathlib
import re

import jsonschema
import pytest
import vobject

from radicale_wcap.api import errors
from radicale_wcap.api.event_ical import json_to_vcalendar
from radicale_wcap.api.event_json import event_to_json
from radicale_wcap.api.representation import FIELDS, REC_TYPES
from radicale_wcap.api.validation import document, problems

DOC = json.loads((pathlib.Path(errors.__file__).parent / "openapi.json").read_text("utf-8"))
SCHEMAS = DOC["components"]["schemas"]
METHODS = {"get", "put", "post", "delete"}


def resolve(node):
    while "$ref" in node:
        assert node["$ref"].startswith("#/components/schemas/"), node
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


def validate(value, name):
    """The server's own check (jsonschema against the served document)."""
    found = problems(name, value)
    assert not found, [p.message for p in found]


def walk_refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk_refs(value)


def test_structure():
    assert DOC["openapi"].startswith("3.1.") and DOC["info"]["title"] and DOC["info"]["version"]
    assert set(DOC["paths"]) == {"/api/ics", "/api/openapi.json", "/restapi/v1/events",
                                 "/restapi/v1/events/{event}"}
    assert set(DOC["paths"]["/api/ics"]) == {"post"}
    assert set(DOC["paths"]["/restapi/v1/events/{event}"]) - {"parameters"} == METHODS
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                assert operation["responses"] and operation["operationId"], (path, method)
                for status, response in operation["responses"].items():
                    assert re.fullmatch(r"[1-5]\d\d", status) and response["description"]
    for ref in walk_refs(DOC):
        resolve({"$ref": ref})
    for schema in SCHEMAS.values():  # OpenAPI 3.1 schemas are JSON Schema 2020-12
        jsonschema.Draft202012Validator.check_schema(schema)
    schemes = DOC["components"]["securitySchemes"]
    assert schemes["basic"] == {"type": "http", "scheme": "basic"}
    assert schemes["apiKey"]["name"] == "x-api-key" and schemes["apiKey"]["in"] == "header"


def test_every_ics_error_is_documented():
    enum = SCHEMAS["IcsFailure"]["properties"]["error-code"]["enum"]
    assert enum == [e.code for e in errors.ICS_ERRORS]
    responses = DOC["paths"]["/api/ics"]["post"]["responses"]
    for error in errors.ICS_ERRORS:
        assert error.code in responses[str(error.http_status)]["description"]


def test_every_rest_error_is_documented():
    assert SCHEMAS["RestError"]["x-error-names"] == [r.name for r in errors.REST_ERRORS]
    statuses = {status for path, item in DOC["paths"].items() if path.startswith("/restapi/")
                for method, op in item.items()
                if method in METHODS for status in op["responses"]}
    for row in errors.REST_ERRORS:
        assert str(row.http_status) in statuses and row.name in SCHEMAS["RestError"]["description"]


def test_event_schema_matches_representation():
    assert set(SCHEMAS["Event"]["properties"]) == set(FIELDS)
    assert SCHEMAS["Event"]["properties"]["rec_type"]["enum"] == [r.code for r in REC_TYPES]


@pytest.mark.parametrize("data", [
    {"title": "x", "starting_date": "2024-03-04", "starting_time": "09:00", "timezone": "Europe/Paris",
     "rec_type": 1, "rec_weekdays": ["MO"], "rec_until": 2460400, "exceptions": [2460381]},
    {"title": "x", "all_day": True, "starting_date": 2460374, "rec_type": 5, "rec_dates": ["2024-04-01"]},
    {"title": "x", "starting_date": "2024-03-04", "starting_time": "09:00", "timezone": None},
])
def test_event_to_json_validates(data):
    validate(data, "NewEvent")
    cal = vobject.readOne(json_to_vcalendar(data, existing=None, default_tz="UTC").serialize())
    out = event_to_json(cal, cal_item_id=12, calendar="jdoe:work", etag='"v1"')
    validate(out, "EventResponse")
    validate(out, "Event")  # a GET body goes back as a PUT


def test_validator_is_not_vacuous():
    with pytest.raises(AssertionError):
        validate({"title": 3}, "Event")
    with pytest.raises(AssertionError):
        validate({"colour": "red"}, "Event")
    with pytest.raises(AssertionError):
        validate({"status": "failure", "error-code": "E9999", "error-info": ""}, "IcsFailure")
    with pytest.raises(AssertionError):
        validate({"title": "x"}, "NewEvent")  # no starting_date


def test_validator_reads_the_served_file():
    assert document() == DOC


def test_docs_list_every_error_and_rec_type():
    text = (pathlib.Path(__file__).parents[2] / "docs" / "api.md").read_text("utf-8")
    for error in errors.ICS_ERRORS:
        assert f"| `{error.code}` | {error.http_status} | `{error.name}` |" in text
    for row in errors.REST_ERRORS:
        assert f"| `{row.name}` | {row.http_status} |" in text
    for rec in REC_TYPES:
        assert f"| {rec.code} | {rec.freq or '—'} |" in text
