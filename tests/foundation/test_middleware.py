"""The middleware: routing, body caps before reading, no tracebacks to clients."""

import io
import logging
import os

import radicale
from radicale import config as radicale_config

from radicale_wcap.logtext import RequestTextFilter
from radicale_wcap.middleware import make_app
from radicale_wcap.store import READ, SYSTEM
from tests.conftest import InProcessClient, add_user, make_instance

EVENT = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\n"
         "DTSTAMP:20240101T000000Z\r\nDTSTART:20240102T100000Z\r\nDTEND:20240102T110000Z\r\n"
         "SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


class Unreadable(io.BytesIO):
    def read(self, *args):
        raise AssertionError("the body must not be read")


def test_oversized_caldav_body_refused_before_reading(tmp_path):
    instance = make_instance(str(tmp_path), {"http": {"max_body_size": "1000"}})
    add_user(instance, "alice")
    app = make_app(instance)
    seen = {}
    environ = {"REQUEST_METHOD": "PUT", "PATH_INFO": "/alice/calendar/x.ics",
               "CONTENT_LENGTH": "5000", "wsgi.input": Unreadable(), "wsgi.errors": io.StringIO()}
    body = b"".join(app(environ, lambda status, headers: seen.update(status=status)))
    assert seen["status"].startswith("413") and body


def test_oversized_wcap_upload_is_a_wcap_answer(tmp_path):
    instance = make_instance(str(tmp_path), {"wcap": {"max_import_size": "100"}})
    app = make_app(instance)
    seen = {}
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/import.wcap",
               "QUERY_STRING": "fmt-out=text/calendar&id=x", "CONTENT_LENGTH": "5000",
               "wsgi.input": Unreadable(), "wsgi.errors": io.StringIO()}
    body = b"".join(app(environ, lambda status, headers: seen.update(status=status,
                                                                      headers=headers)))
    assert seen["status"].startswith("200")
    assert b"X-NSCP-WCAP-ERRNO:35" in body
    assert [k.lower() for k, _ in seen["headers"]].count("content-length") == 1


def test_radicale_paths_pass_through(client, instance):
    add_user(instance, "alice")
    response = client.request("OPTIONS", "/alice/calendar/", user="alice")
    assert response.status == 200 and "REPORT" in response.headers.get("allow", "")


def test_upgrade_from_a_plain_radicale_store(tmp_path):
    """A store written by stock Radicale works as-is: default ACL, owner by path."""
    folder = tmp_path / "collections"
    configuration = radicale_config.load()
    configuration.update({"storage": {"filesystem_folder": str(folder)},
                          "auth": {"type": "none"}, "rights": {"type": "owner_only"},
                          "logging": {"level": "warning"}, "web": {"type": "none"}}, "t")
    stock = InProcessClient(radicale.Application(configuration))
    mkcal = ("<?xml version='1.0'?><C:mkcalendar xmlns:C='urn:ietf:params:xml:ns:caldav'/>")
    assert stock.request("MKCALENDAR", "/bob/work/", mkcal, user="bob").status == 201
    assert stock.request("PUT", "/bob/work/a.ics", EVENT % "a",
                         {"Content-Type": "text/calendar"}, user="bob").status == 201
    instance = make_instance(str(tmp_path))
    add_user(instance, "bob")
    add_user(instance, "eve")
    ours = InProcessClient(make_app(instance))
    assert instance.registry.get("/bob/work/") is None
    assert ours.request("GET", "/bob/work/a.ics", user="bob").status == 200
    assert ours.request("GET", "/bob/work/a.ics", user="eve").status == 403
    with instance.store.reading("/bob/work/", SYSTEM, READ) as calendar:
        assert calendar.by_uid("a") is not None
    # written later by plain Radicale: noticed
    assert stock.request("PUT", "/bob/work/b.ics", EVENT % "b",
                         {"Content-Type": "text/calendar"}, user="bob").status == 201
    with instance.store.reading("/bob/work/", SYSTEM, READ) as calendar:
        assert calendar.by_uid("b") is not None


def test_bodies_are_screened_before_the_fast_report_path(client, instance):
    """A calendar-query of the fast path's shape with a DTD is a 400 from the
    screen, not a parse by the fast path and then a 500 from Radicale."""
    add_user(instance, "alice")
    query = ("<?xml version='1.0'?><!DOCTYPE C:calendar-query [<!ENTITY x 'y'>]>"
             "<C:calendar-query xmlns:D='DAV:' xmlns:C='urn:ietf:params:xml:ns:caldav'>"
             "<D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name='VCALENDAR'>"
             "<C:comp-filter name='VEVENT'><C:time-range start='20240101T000000Z' "
             "end='20240201T000000Z'/></C:comp-filter></C:comp-filter></C:filter>"
             "</C:calendar-query>")
    response = client.request("REPORT", "/alice/calendar/", query,
                              {"Depth": "1", "Content-Type": "application/xml"}, user="alice")
    assert response.status == 400 and b"document type" in response.body
    assert client.request("REPORT", "/alice/calendar/", query.replace(
        "<!DOCTYPE C:calendar-query [<!ENTITY x 'y'>]>", ""),
        {"Depth": "1", "Content-Type": "application/xml"}, user="alice").status == 207


def test_radicale_log_lines_are_capped_once_the_app_is_made(tmp_path):
    make_app(make_instance(str(tmp_path)))
    assert any(isinstance(f, RequestTextFilter) for f in logging.getLogger("radicale").filters)
