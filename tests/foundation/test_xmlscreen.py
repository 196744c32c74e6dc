"""XML bodies refused before Radicale parses them: DTDs and deep nesting."""

import time

import pytest

from radicale_wcap.xmlscreen import MAX_DEPTH, refusal

PROPFIND = "<D:propfind xmlns:D='DAV:'><D:prop><D:getetag/></D:prop></D:propfind>"


def nested(depth: int) -> str:
    return "<a>" * depth + "</a>" * depth


def test_ordinary_bodies_pass():
    assert refusal("<?xml version='1.0' encoding='utf-8'?>" + PROPFIND) is None
    assert refusal(nested(MAX_DEPTH)) is None


@pytest.mark.parametrize("body", [
    "<!DOCTYPE x>" + PROPFIND,
    "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
    "<!DOCTYPE x SYSTEM 'file:///etc/passwd'><x/>",
    "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 "
    "'&lol;&lol;&lol;&lol;'>]><lolz>&lol2;</lolz>",
])
def test_document_type_declarations_are_refused(body):
    assert "document type" in refusal(body)


def test_deep_nesting_is_refused_without_recursion_and_quickly():
    started = time.monotonic()
    assert "deeper" in refusal(nested(MAX_DEPTH + 1))
    assert "deeper" in refusal(nested(1_000_000))
    assert time.monotonic() - started < 1


def test_malformed_xml_is_left_to_radicale():
    assert refusal("<a><b></a>") is None
    assert refusal("not xml") is None
