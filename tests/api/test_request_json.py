"""api/request.py: the nesting count that keeps json.loads away from its recursion limit."""

import json

import pytest

from radicale_wcap.api.request import MAX_JSON_DEPTH, BadJson, json_depth, loads


@pytest.mark.parametrize("text,depth", [
    ("", 0), ("1", 0), ('"x"', 0), ("[]", 1), ("{}", 1), ('[[1],{"a":[2]}]', 3),
    ('"[[[["', 0),  # brackets inside a string do not count
    ('["]]]]\\"]]]",[[]]]', 3),  # nor after an escaped quote inside it
    ('["\\\\", [[]]]', 3),  # an escaped backslash ends before the closing quote
    ('"' + "[" * 100, 0),  # unterminated: the decoder stops there too
])
def test_json_depth(text, depth):
    assert json_depth(text) == depth


def test_loads_takes_the_limit_and_refuses_one_more():
    assert loads(("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode())
    with pytest.raises(BadJson, match="deeper"):
        loads(("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)).encode())


@pytest.mark.parametrize("body", [
    b"[" * 50000, b'{"a":' * 30000 + b"1" + b"}" * 30000, b'["' + b"]" * 100 + b'",' + b"[" * 5000,
])
def test_deep_bodies_are_bad_json_not_recursion(body):
    with pytest.raises(BadJson):
        loads(body)


def test_strings_full_of_brackets_are_still_json():
    data = {"title": "[" * 10000, "description": "{" * 10000}
    assert loads(json.dumps(data).encode()) == data


@pytest.mark.parametrize("body", [b"\xff", b"{", b"1" * 5000])  # 5000 digits: int limit
def test_other_failures_are_bad_json(body):
    with pytest.raises(BadJson):
        loads(body)
