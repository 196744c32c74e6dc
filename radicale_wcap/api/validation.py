"""JSON request bodies checked against the OpenAPI document the server serves.

``openapi.json`` is what clients read; checking bodies against that same file
(python-jsonschema, JSON Schema 2020-12 as OpenAPI 3.1 uses it) keeps the
contract and the checks from drifting apart, which two hand-written copies did.
What a schema can not say stays with the code that needs the result: time zone
names, whether a day exists or lies in the store's range, end after start,
fields that exclude each other across the stored and the sent event, RRULE
validity, item sizes.

Validators are compiled once per process, from the schema with its ``$ref``s
resolved (by ``referencing``) and put in place: resolving them again for every
array item made a 1 MiB body of dates take 40 s to check, and a bad one minutes.
For the same reason at most ``MAX_PROBLEMS`` failures are collected, and a list
over its schema's ``maxItems`` (which the schema says before ``items``) ends the
check before its items are looked at. A failure
names the value by its JSON pointer (``/rec_weekdays/2``) and shows at most a
short prefix of it: a message goes into a log line and back to a client.
"""

from __future__ import annotations

import functools
import itertools
import json
import pathlib
from typing import NamedTuple

import jsonschema
import referencing
from referencing.jsonschema import DRAFT202012

OPENAPI_FILE = pathlib.Path(__file__).with_name("openapi.json")
# The document's own "#/components/..." references resolve against this name.
_BASE = "urn:radicale-wcap:openapi"
_SHOWN = 40  # characters of a bad value a message repeats
MAX_PROBLEMS = 20
_TOO_BIG = ("maxItems", "maxLength", "maxProperties")
# Keywords beside a "$ref" that only annotate: the target is put in their place.
_ANNOTATIONS = frozenset({"description", "title", "readOnly", "writeOnly", "example",
                          "default", "deprecated"})
# Failures of the body's shape come before failures of a value, so that a client
# missing a field hears of that first, as it did when the checks were code.
_SHAPE = ("required", "type")
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "true or false", "array": "a list", "object": "an object",
               "null": "null"}


class Problem(NamedTuple):
    pointer: str  # JSON pointer of the offending value, "" for the body itself
    field: str | None  # the body's member it lies in
    keyword: str  # the schema keyword that failed ("required", "type", "pattern", ...)
    message: str  # safe to show and to log
    value_is_null: bool = False

    @property
    def missing(self) -> bool:
        """Absent, or null where a value is needed (the ICS generator's *_MISSING)."""
        return self.keyword == "required" or (self.keyword == "type" and self.value_is_null)


class BodyInvalid(ValueError):
    """The body does not satisfy its schema; ``message`` names the first problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message)
        self.problems = problems
        self.message = problems[0].message


@functools.lru_cache(maxsize=1)
def document() -> dict:
    return json.loads(OPENAPI_FILE.read_text("utf-8"))


@functools.lru_cache(maxsize=None)
def _validator(schema_name: str):
    resource = referencing.Resource.from_contents(document(), default_specification=DRAFT202012)
    resolver = referencing.Registry().with_resource(_BASE, resource).resolver(_BASE)
    schema = _in_place({"$ref": "#/components/schemas/" + schema_name}, resolver, ())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _in_place(node, resolver, seen: tuple):
    """``node`` with every ``$ref`` replaced by what it names (the document has no
    recursive schema; one would be an error here, not a loop)."""
    if isinstance(node, list):
        return [_in_place(item, resolver, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" not in node:
        return {key: _in_place(value, resolver, seen) for key, value in node.items()}
    ref = node["$ref"]
    if ref in seen:
        raise ValueError("recursive schema: %s" % " -> ".join(seen + (ref,)))
    resolved = resolver.lookup(ref)
    target = _in_place(resolved.contents, resolved.resolver, seen + (ref,))
    rest = {key: _in_place(value, resolver, seen) for key, value in node.items()
            if key != "$ref"}
    if set(rest) <= _ANNOTATIONS:
        return {**target, **rest}
    return {**rest, "allOf": rest.get("allOf", []) + [target]}


@functools.lru_cache(maxsize=None)
def _field_order(schema_name: str) -> dict[str, int]:
    """The body's members in the schema's order (an ``allOf`` adds its parts' members)."""
    schemas = document()["components"]["schemas"]
    names: list[str] = []
    pending = [schemas[schema_name]]
    while pending:
        schema = pending.pop(0)
        names += [name for name in schema.get("properties", {}) if name not in names]
        pending += [schemas[part["$ref"].rsplit("/", 1)[1]]
                    for part in schema.get("allOf", ()) if "$ref" in part]
    return {name: index for index, name in enumerate(names)}


def problems(schema_name: str, body) -> list[Problem]:
    """Every way ``body`` fails ``#/components/schemas/<schema_name>``, shape first, then
    in the schema's field order."""
    found: dict[str, Problem] = {}
    errors = _validator(schema_name).iter_errors(body)  # lazy: stops at MAX_PROBLEMS
    for error in itertools.islice(errors, MAX_PROBLEMS):
        for problem in _problems_of(error):
            found.setdefault(problem.pointer + " " + problem.keyword, problem)
        if error.validator in _TOO_BIG:
            break
    order = _field_order(schema_name)
    return sorted(found.values(), key=lambda p: (p.keyword not in _SHAPE,
                                                 order.get(p.field or "", len(order)),
                                                 p.pointer))


def check(schema_name: str, body) -> None:
    """BodyInvalid unless ``body`` satisfies the schema."""
    found = problems(schema_name, body)
    if found:
        raise BodyInvalid(found)


def _problems_of(error) -> list[Problem]:
    path = list(error.absolute_path)
    pointer = _pointer(path)
    field = str(path[0]) if path else None
    keyword = error.validator
    value = error.instance
    if keyword == "required":
        return [Problem(_pointer(path + [name]), field or name, keyword,
                        "%s: is required" % _pointer(path + [name]))
                for name in error.validator_value
                if isinstance(value, dict) and name not in value]
    if keyword == "additionalProperties" and isinstance(value, dict):
        known = error.schema.get("properties", {})
        extra = sorted(name for name in value if name not in known)
        shown = ", ".join(_short(name) for name in extra[:5]) + (", ..." if len(extra) > 5 else "")
        return [Problem(pointer, field or (extra[0] if extra else None), keyword,
                        "%s: unknown field(s): %s" % (pointer or "/", shown))]
    return [Problem(pointer, field, keyword, "%s: %s" % (pointer or "/", _why(error)),
                    value_is_null=value is None)]


def _why(error) -> str:
    keyword, expected, schema = error.validator, error.validator_value, error.schema
    value = error.instance
    if keyword == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return "must be " + " or ".join(_TYPE_WORDS.get(kind, kind) for kind in kinds)
    if keyword in ("pattern", "oneOf", "anyOf", "format") and schema.get("title"):
        return "%s is not %s" % (_short(value), schema["title"])
    if keyword == "pattern":
        return "%s does not match %s" % (_short(value), expected)
    if keyword == "enum":
        return "%s is not one of %s" % (_short(value), ", ".join(map(_short, expected)))
    if keyword == "const":
        return "must be %s" % _short(expected)
    if keyword == "not" and isinstance(expected, dict) and "const" in expected:
        return "must not be %s" % _short(expected["const"])
    if keyword == "minimum":
        return "must be at least %s" % expected
    if keyword == "maximum":
        return "must be at most %s" % expected
    if keyword == "maxItems":
        return "has more than %s items" % expected
    if keyword == "minLength":
        return "must not be empty" if expected == 1 else "is shorter than %s" % expected
    return "is not valid (%s)" % keyword


def _pointer(path) -> str:
    """RFC 6901: ``~`` and ``/`` inside a member name are escaped."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _short(value) -> str:
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
