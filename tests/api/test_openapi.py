"""openapi.json stays true: structure, error tables, and real event_to_json output."""

import json
import pathlib
import re

import pytest
import vobject

from radicale_wcap.api import errors
from radicale_wcap.api.representation import FIELDS, REC_TYPES, event_to_json, json_to_vcalendar

DOC = json.loads((pathlib.Path(errors.__file__).parent / "openapi.json").read_text("utf-8"))
SCHEMAS = DOC["components"]["schemas"]
METHODS = {"get", "put", "post", "delete"}


def resolve(node):
    while "$ref" in node:
        assert node["$ref"].startswith("#/components/schemas/"), node
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


def validate(value, schema, path="$"):
    """The subset of JSON Schema the document uses (no jsonschema installed)."""
    schema = resolve(schema)
    if value is None:
        assert schema.get("nullable"), f"{path}: null not allowed"
        return
    if "oneOf" in schema:
        matches = 0
        for option in schema["oneOf"]:
            try:
                validate(value, option, path)
                matches += 1
            except AssertionError:
                pass
        assert matches == 1, f"{path}: {value!r} matches {matches} of oneOf"
        return
    kind = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}[schema["type"]]
    assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), f"{path}: {value!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in enum"
    if "pattern" in schema:
        assert re.search(schema["pattern"], value), f"{path}: {value!r} !~ {schema['pattern']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], path
    if "maximum" in schema:
        assert value <= schema["maximum"], path
    if kind is list:
        for index, item in enumerate(value):
            validate(item, schema["items"], f"{path}[{index}]")
    if kind is dict:
        for key in schema.get("required", []):
            assert key in value, f"{path}: missing {key}"
        for key, item in value.items():
            if key in schema.get("properties", {}):
                validate(item, schema["properties"][key], f"{path}.{key}")
            else:
                assert schema.get("additionalProperties", True) is not False, f"{path}: extra {key}"


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
    assert DOC["openapi"].startswith("3.0.") and DOC["info"]["title"] and DOC["info"]["version"]
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
    validate(data, {"$ref": "#/components/schemas/Event"})
    cal = vobject.readOne(json_to_vcalendar(data, existing=None, default_tz="UTC").serialize())
    out = event_to_json(cal, cal_item_id=12, calendar="jdoe:work", etag='"v1"')
    validate(out, {"$ref": "#/components/schemas/EventResponse"})


def test_validator_is_not_vacuous():
    with pytest.raises(AssertionError):
        validate({"title": 3}, {"$ref": "#/components/schemas/Event"})
    with pytest.raises(AssertionError):
        validate({"colour": "red"}, {"$ref": "#/components/schemas/Event"})
    with pytest.raises(AssertionError):
        validate({"status": "failure", "error-code": "E9999", "error-info": ""},
                 {"$ref": "#/components/schemas/IcsFailure"})


def test_docs_list_every_error_and_rec_type():
    text = (pathlib.Path(__file__).parents[2] / "docs" / "api.md").read_text("utf-8")
    for error in errors.ICS_ERRORS:
        assert f"| `{error.code}` | {error.http_status} | `{error.name}` |" in text
    for row in errors.REST_ERRORS:
        assert f"| `{row.name}` | {row.http_status} |" in text
    for rec in REC_TYPES:
        assert f"| {rec.code} | {rec.freq or '—'} |" in text
