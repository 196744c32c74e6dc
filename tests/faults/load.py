"""Clients that write through every door for a while and remember what was acknowledged
(no tests here).

Every client owns its UIDs and writes them one after the other, so the last summary a
door acknowledged for a UID is the one the calendar must hold at the end. A write that
got no answer (a killed server) is "unsure": either state is right for it, nothing else.
"""

from __future__ import annotations

import threading
import time
import urllib.error
from typing import Callable, Dict, List, Optional, Set

from tests.conftest import HttpClient
from tests.faults import doors


class Ledger:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: Dict[str, str] = {}      # uid -> last acknowledged summary
        self.unsure: Dict[str, Set[str]] = {}  # uid -> summaries whose write got no answer
        self.counts: Dict[str, int] = {}
        self.failures: List[str] = []

    def ack(self, uid: str, summary: str) -> None:
        with self.lock:
            self.acked[uid] = summary

    def maybe(self, uid: str, summary: str) -> None:
        with self.lock:
            self.unsure.setdefault(uid, set()).add(summary)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures.append(what[:300])

    def check(self, found: Dict[str, str], owned: Callable[[str], bool]) -> None:
        """Every acknowledged write of the UIDs ``owned`` picks (those of the calendar that
        ``found`` was read from) is there with its content; nothing else of them is."""
        for uid, summary in self.acked.items():
            if not owned(uid):
                continue
            assert uid in found or summary in self.unsure.get(uid, ()), "lost: %s" % uid
            if uid in found:
                assert found[uid] == summary or found[uid] in self.unsure.get(uid, ()), \
                    "%s holds %r, acknowledged %r" % (uid, found[uid], summary)
        for uid in found:
            if owned(uid):
                assert uid in self.acked or uid in self.unsure, "never acknowledged: %s" % uid


class Client(threading.Thread):
    """Runs ``step(n)`` until ``deadline`` or ``stop``; a failed request (no answer) ends
    the loop only when ``servers`` has none left to try."""

    def __init__(self, name: str, ledger: Ledger, servers: List[HttpClient],
                 deadline: float, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.ledger = ledger
        self.servers = list(servers)
        self.deadline = deadline
        self.stop_event = stop
        self.n = 0
        self.error: Optional[BaseException] = None

    @property
    def c(self) -> HttpClient:
        return self.servers[0]

    def run(self) -> None:
        try:
            self.setup()
            while time.monotonic() < self.deadline and not self.stop_event.is_set():
                self.n += 1
                try:
                    self.step(self.n)
                except (urllib.error.URLError, ConnectionError, OSError) as e:
                    self.unanswered(e)
                    self.servers.pop(0)
                    if not self.servers:
                        return
                    self.setup()
        except BaseException as e:  # reported by the test
            self.error = e

    def setup(self) -> None:
        pass

    def unanswered(self, error: BaseException) -> None:
        pass

    def step(self, n: int) -> None:
        raise NotImplementedError


class CalDavClient(Client):
    """PUTs new events, rewrites earlier ones, reads them back (GET, REPORT)."""

    def __init__(self, *args, user: str = "alice", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.pending = None

    def unanswered(self, error) -> None:
        if self.pending:
            self.ledger.maybe(*self.pending)

    def step(self, n: int) -> None:
        uid = "%s-%d" % (self.name, n if n % 3 else max(1, n - 2))
        summary = "%s write %d" % (self.name, n)
        self.pending = (uid, summary)
        status = doors.caldav_put(self.c, self.user, uid, summary)
        self.pending = None
        self.ledger.count("caldav PUT")
        if status in (201, 204):
            self.ledger.ack(uid, summary)
        else:
            self.ledger.fail("CalDAV PUT %s: %d" % (uid, status))
        got = self.c.request("GET", "/%s/calendar/%s.ics" % (self.user, uid), user=self.user)
        if got.status != 200 or "SUMMARY:%s" % summary not in got.text:
            self.ledger.fail("CalDAV GET %s after its PUT: %d" % (uid, got.status))
        if n % 5 == 0:
            if doors.report(self.c, self.user).status != 207:
                self.ledger.fail("CalDAV REPORT")


class WcapClient(Client):
    """Logs in, stores events with storeevents, fetches the calendar."""

    def __init__(self, *args, user: str = "alice", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.sid = None
        self.pending = None

    def setup(self) -> None:
        code, self.sid = doors.wcap_login(self.c, self.user)
        self.ledger.count("WCAP login")
        if code != 0:
            self.ledger.fail("WCAP login: errno %s" % code)

    def unanswered(self, error) -> None:
        if self.pending:
            self.ledger.maybe(*self.pending)

    def step(self, n: int) -> None:
        uid = "%s-%d" % (self.name, n)
        summary = "%s store %d" % (self.name, n)
        self.pending = (uid, summary)
        answer = doors.wcap_store(self.c, self.sid, self.user, uid, summary)
        self.pending = None
        self.ledger.count("WCAP storeevents")
        if doors.errno(answer) == 0:
            self.ledger.ack(uid, summary)
        else:
            self.ledger.fail("WCAP storeevents %s: errno %s" % (uid, doors.errno(answer)))
        if n % 4 == 0:
            fetched = doors.wcap_fetch(self.c, self.sid, self.user)
            if doors.errno(fetched) != 0 or "UID:%s" % uid not in fetched.text:
                self.ledger.fail("WCAP fetch after storeevents %s" % uid)


class FeedClient(Client):
    """Imports ``size`` events under one web name, every round changing all of them."""

    def __init__(self, *args, user: str = "alice", webname: str = "AliceFeed",
                 size: int = 5, delta: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.webname, self.size, self.delta = user, webname, size, delta
        self.pending: Dict[str, str] = {}
        self.acked_rounds = 0

    def events(self, n: int) -> Dict[str, str]:
        return {"%s-%d" % (self.name, i): "%s round %d" % (self.name, n)
                for i in range(self.size)}

    def unanswered(self, error) -> None:
        for uid, summary in self.pending.items():
            self.ledger.maybe(uid, summary)

    def step(self, n: int) -> None:
        events = self.pending = self.events(n)
        answer = doors.feed_put(self.c, self.user, self.webname, events, delta=self.delta)
        self.pending = {}
        self.ledger.count("feed PUT")
        if answer.status == 200 and "Level=\"Error\"" not in answer.text:
            for uid, summary in events.items():
                self.ledger.ack(uid, summary)
            self.acked_rounds += 1
        else:
            self.ledger.fail("feed PUT: %d %s" % (answer.status, answer.text[:200]))


class JsonClient(Client):
    """Creates events with the REST API, renames every other one, lists them."""

    def __init__(self, *args, key: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.key = key
        self.mine: List[tuple] = []  # (cal_item_id, uid)
        self.pending = None

    def unanswered(self, error) -> None:
        if self.pending:
            self.ledger.maybe(*self.pending)

    def step(self, n: int) -> None:
        title = "%s title %d" % (self.name, n)
        if n % 2 == 0 and self.mine:
            item_id, uid = self.mine[-1]
            self.pending = (uid, title)
            answer = doors.json_put(self.c, self.key, item_id, title)
            self.pending = None
            self.ledger.count("JSON PUT")
            if answer.status == 200 and answer.json().get("title") == title:
                self.ledger.ack(uid, title)
            else:
                self.ledger.fail("JSON PUT: %d %s" % (answer.status, answer.text[:200]))
        else:
            answer = doors.json_post(self.c, self.key, title)
            self.ledger.count("JSON POST")
            if answer.status == 201:
                body = answer.json()
                self.mine.append((body["cal_item_id"], body["itemguid"]))
                self.ledger.ack(body["itemguid"], title)
            else:
                self.ledger.fail("JSON POST: %d %s" % (answer.status, answer.text[:200]))
        if n % 5 == 0:
            listed = self.c.request("GET", "/restapi/v1/events", headers={"x-api-key": self.key})
            if listed.status != 200:
                self.ledger.fail("JSON GET: %d" % listed.status)
