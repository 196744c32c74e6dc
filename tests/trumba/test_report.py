import defusedxml.ElementTree as ET
import pytest

from radicale_wcap.trumba.codes import Code
from radicale_wcap.trumba.report import Message, http_status, render_response


def parse(messages):
    body = render_response(messages)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(body)


def test_messages_in_order_with_attributes():
    root = parse([
        Message(Code.EVENT_ADDED, uid="a@example.org", line=6),
        Message(2103, uid="b@example.org", line=14, detail="DTEND: bad"),
        Message(Code.SINGLE_VCALENDAR),
    ])
    assert root.tag == "Response"
    items = list(root)
    assert [i.tag for i in items] == ["ResponseMessage"] * 3
    assert [i.get("Code") for i in items] == ["1101", "2103", "3101"]
    assert [i.get("Level") for i in items] == ["Information", "Warning", "Error"]
    assert items[0].get("Description") == "Event added"
    assert items[0].get("UID") == "a@example.org" and items[0].get("Line") == "6"
    assert items[0].text is None
    assert items[1].text == "DTEND: bad"
    assert items[2].get("UID") is None and items[2].get("Line") is None


@pytest.mark.parametrize("text", [
    'quote " amp & lt < gt > apos \'',
    "new\nline\ttab\rreturn",
    "control \x00\x01\x1b\x7f chars",
    "non-ASCII Zürich 東京 \U0001f600",
    "lone surrogate \udcff",
    "]]> <!-- --> <![CDATA[",
])
def test_any_text_gives_well_formed_xml(text):
    root = parse([Message(2101, uid=text, line=1, detail=text)])
    item = root[0]
    expected = "".join(ch if ch in "\t\n\r" or ch >= " " and not 0xD800 <= ord(ch) <= 0xDFFF
                       else "\ufffd" for ch in text)
    assert item.get("UID") == expected
    assert item.text == expected


def test_empty_response_is_well_formed():
    assert list(parse([])) == []


def test_http_status():
    assert http_status([Message(1101), Message(2103)]) == 200
    assert http_status([]) == 200
    assert http_status([Message(3101)]) == 400


def test_message_properties():
    m = Message(2105, uid="x")
    assert m.code is Code.DURATION_INVALID
    assert m.description == "Duration is invalid"
    assert m.level.value == "Warning"
