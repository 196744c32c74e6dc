"""WCAP driven the way each kind of real client drives it, in-process and against a
real server: its parameter order and encoding, and its way of reading the answer.

* Lightning (wcap-clients.md §2): ``encodeURIComponent`` values, fmt-out always sent,
  text/calendar read by an iCalendar parser, text/xml by a DOM parser.
* Clients written against Calendar Server 6.x / Oracle CS 7-8 (the WCapCal Android
  client, OpenSync's wcaptool): ``login.wcap?user=..&password=..`` without fmt-out,
  answers cut out of the text/calendar body with regexes.
* php-wcap-client: fmt-out=text/xml everywhere, ``id`` first, the base URL without a
  trailing ``/``, only summary/desc escaped, SimpleXML with ``//NAME`` xpaths per
  ``<iCal>``; export by POST with ``content-out`` and no fmt-out.
* Form-encoding clients (Java ``URLEncoder``, PHP ``urlencode``): ``+`` for a space.
* Oracle Convergence-style clients: fmt-out=text/json under ``/davserver/wcap/``,
  read with a JSON parser.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

import pytest

from tests.conftest import TEST_PASSWORD, InProcessClient, add_user, make_instance
from tests.wcap.conftest import WcapAnswer


def enc(value: str) -> str:
    """encodeURIComponent (Lightning)."""
    return quote(value, safe="-_.!~*'()")


class Server:
    """One transport: ``client.request`` and the ``instance`` behind it."""

    def __init__(self, client, instance):
        self.client, self.instance = client, instance

    def user(self, name: str, **kw) -> str:
        if self.instance.directory.get(name) is None:
            add_user(self.instance, name, **kw)
        return name

    def get(self, url: str):
        return self.client.request("GET", url)

    def wcap(self, url: str, fmt: str) -> WcapAnswer:
        return WcapAnswer(fmt, self.get(url))

    def login(self, name: str) -> str:
        answer = self.wcap(f"/login.wcap?fmt-out=text%2Fcalendar&user={enc(name)}"
                           f"&password={enc(TEST_PASSWORD)}", "text/calendar")
        assert answer.errno == 0, answer.text
        return answer.value("X-NSCP-WCAP-SESSION-ID")


@pytest.fixture(params=["in-process", "live"])
def server(request, tmp_path):
    if request.param == "live":
        live = request.getfixturevalue("live")
        return Server(live.client, live.instance)
    from radicale_wcap.middleware import make_app
    instance = make_instance(str(tmp_path))
    return Server(InProcessClient(make_app(instance)), instance)


# ---------------------------------------------------------------- form encoding

def test_form_encoded_query_plus_is_a_space(server):
    """A client that builds its query with a form encoder sends ``+`` for a space and
    ``%2B`` for a plus; the stored event must read "Team meeting" and "C++" everywhere."""
    user = server.user("fe.user")
    sid = server.login(user)
    summary = quote_plus("Team meeting")            # Team+meeting
    desc = quote_plus("C++ review")                 # C%2B%2B+review
    stored = server.wcap(f"/storeevents.wcap?id={sid}&calid={user}&uid=fe-1"
                         f"&dtstart=20240116T090000Z&dtend=20240116T100000Z"
                         f"&summary={summary}&desc={desc}&fetch=1&fmt-out=text%2Fcalendar",
                         "text/calendar")
    assert stored.errno == 0, stored.text
    assert stored.value("SUMMARY") == "Team meeting"
    fetched = server.wcap(f"/fetchevents_by_id.wcap?id={sid}&calid={user}&uid=fe-1"
                          "&fmt-out=text%2Fxml", "text/xml")
    assert fetched.value("SUMMARY") == "Team meeting"
    assert fetched.value("DESCRIPTION") == "C++ review"
    # Lightning's encodeURIComponent means the same: %20 is a space, %2B a plus.
    again = server.wcap(f"/storeevents.wcap?appid=mozilla-calendar&id={sid}"
                        f"&summary={enc('A + B')}&fetch=1&fmt-out=text%2Fcalendar"
                        f"&uid=fe-1&calid={enc(user)}", "text/calendar")
    assert again.value("SUMMARY") == "A + B"


# ---------------------------------------------------------------- per-layer errors

FORMATS = ("text/calendar", "text/xml", "text/js")


@pytest.mark.parametrize("fmt", FORMATS)
def test_denied_layer_names_its_calendar(server, fmt):
    """fetchcomponents_by_range over calid=own;other, other denied (28): the denied
    layer names its calendar, so a client asks free/busy for the right one (what
    php-wcap-client and Lightning do on 28)."""
    own, other = server.user("pl.own"), server.user("pl.other")
    sid = server.login(own)
    answer = server.wcap(f"/fetchcomponents_by_range.wcap?id={sid}&dtstart=20240101T000000Z"
                         f"&dtend=20240201T000000Z&fmt-out={enc(fmt)}"
                         f"&calid={own};{other}", fmt)
    if fmt == "text/calendar":
        # regex over the text, as the CS 6-era clients read it
        found = re.findall(r"^X-NSCP-CALPROPS-RELATIVE-CALID(;[^:\r\n]*)?:(.*)$",
                           answer.text.replace("\r\n", "\n"), re.M)
        assert [calid for _, calid in found] == [own, other]
        assert found[0][0] == "" and found[1][0] == ";X-NSCP-WCAP-ERRNO=28"
    elif fmt == "text/xml":
        layers = [(i.findtext("X-NSCP-CALPROPS-RELATIVE-CALID"), i.findtext("X-NSCP-WCAP-ERRNO"))
                  for i in answer.xml.iter("iCal")]
        assert layers == [(own, "0"), (other, "28")]
        denied = [i.findtext("X-NSCP-CALPROPS-RELATIVE-CALID") for i in answer.xml.iter("iCal")
                  if i.findtext("X-NSCP-WCAP-ERRNO") == "28"]
        freebusy = server.wcap(f"/get_freebusy.wcap?id={sid}&calid={';'.join(denied)}"
                               "&dtstart=20240101T000000Z&dtend=20240201T000000Z"
                               "&fmt-out=text%2Fxml", "text/xml")
        assert freebusy.errno == 0
        assert freebusy.value("X-NSCP-CALPROPS-RELATIVE-CALID") == other
    else:
        assert [(c["calid"], c["errno"]) for c in answer.js["calprops"]] == [
            (own, 0), (other, 28)]
