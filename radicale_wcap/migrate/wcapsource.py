"""An old Sun or Oracle calendar server read over WCAP, as its administrator.

Only WCAP, only reads, through ``urllib``: the commands of the manual's chapter that a
Calendar Server 6.x, 7 or 8 answers (login, list, search_calprops, get_userprefs,
fetchcomponents_by_range, fetchcomponents_by_lastmod, fetch_deletedcomponents,
logout). Components are fetched with ``recurring=1`` (masters with their rules and
their exceptions as stored, not expanded instances), ``relativealarm=1`` (a
series' alarm stays one relative trigger, not the first instance's instant) and
``emailorcalid=1`` (attendees keep their mailto: address): the shape that loses
nothing. ``export`` is not used for the same reason: it makes alarms absolute.

The session is shared by the reading threads (``--jobs``): an answer of errno 1
(session expired, or ended by the old server's restart) logs in again, once per
expiry, and repeats the command. A network failure or an HTTP 5xx is tried again
with a doubling pause, then stops the run with one line naming the URL.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Dict, List, Optional

from .answer import Answer, NotWcap, calendar_groups, parse, split_line
from .errors import LoginFailed, MigrationError, NotAdministrator, SourceUnreachable
from .model import CalendarEntry, SourceCalendar, UserEntry, calendar_entry

logger = logging.getLogger("radicale.wcap.migrate")

LOGIN_FAILED = 1
# errnos meaning "not yours to read": 28 ACCESS_DENIED_TO_CALENDAR, 44
# USERPREFS_ACCESS_DENIED, 76 ACCESS_DENIED (another user's lists).
NOT_ALLOWED = {28, 44, 76}
# A component fetch with these dates is "all of time" on 6.x and here alike.
ALL_OF_TIME = {"dtstart": "0", "dtend": "0"}
LOSSLESS = {"recurring": "1", "relativealarm": "1", "emailorcalid": "1",
            "component-type": "all"}
RETRIED_STATUS = {500, 502, 503, 504}


class WcapFailure(Exception):
    def __init__(self, command: str, errno: int) -> None:
        super().__init__("%s answered errno %d" % (command, errno))
        self.command = command
        self.errno = errno


class WcapSource:
    def __init__(self, url: str, admin: str, password: str, *, retries: int = 4,
                 backoff: float = 0.5, timeout: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MigrationError("--url %r is not an http(s) URL" % url)
        self.base = url if url.endswith("/") else url + "/"
        self.admin = admin
        self._password = password
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._session: Optional[str] = None
        self._lock = threading.Lock()     # the session: one login at a time
        self._stats = threading.Lock()
        self.seconds = 0.0     # time spent waiting for the old server
        self.requests = 0
        self.relogins = 0

    # ------------------------------------------------------------ transport
    def _fetch(self, command: str, params: Dict[str, str]) -> Answer:
        url = self.base + command + ".wcap"
        data = urllib.parse.urlencode(params).encode()
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                request = urllib.request.Request(url, data=data, method="POST", headers={
                    "Content-Type": "application/x-www-form-urlencoded"})
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
                    ctype = response.headers.get("Content-Type", "")
                    header_errno = response.headers.get("X-NSCP-WCAP-ERRNO")
                break
            except urllib.error.HTTPError as e:
                if e.code not in RETRIED_STATUS or attempt >= self.retries:
                    raise MigrationError("%s answered HTTP %d to %s: not a WCAP server at "
                                         "this URL" % (self.base, e.code, command)) from None
                reason = "HTTP %d" % e.code
            except (urllib.error.URLError, http.client.HTTPException, socket.timeout,
                    ConnectionError) as e:
                if attempt >= self.retries:
                    raise SourceUnreachable("%s did not answer %s after %d attempts: %s" % (
                        self.base, command, attempt + 1, getattr(e, "reason", e))) from None
                reason = str(getattr(e, "reason", e))
            finally:
                with self._stats:
                    self.seconds += time.monotonic() - started
            pause = self.backoff * (2 ** attempt)
            attempt += 1
            logger.warning("old server: %s failed (%s); again in %.1f s", command, reason,
                           pause)
            time.sleep(pause)
        with self._stats:
            self.requests += 1
        try:
            return parse(body, ctype, header_errno)
        except NotWcap as e:
            raise MigrationError("%s does not speak WCAP (%s to %s)" % (self.base, e, command)
                                 ) from None

    def login(self) -> None:
        # The password goes in a POST body, never in a URL the old server would log.
        found = self._fetch("login", {"user": self.admin, "password": self._password,
                                      "fmt-out": "text/xml", "refresh": "1"})
        session = found.first("X-NSCP-WCAP-SESSION-ID")
        if found.errno == LOGIN_FAILED or (found.errno not in (None, 0) and not session):
            raise LoginFailed("the old server refused the login of %r (errno %s): wrong "
                              "name or password" % (self.admin, found.errno))
        if not session:
            raise MigrationError("%s answered login without a session id: not a WCAP "
                                 "server" % self.base)
        self._session = session

    def logout(self) -> None:
        if self._session:
            try:
                self._fetch("logout", {"id": self._session})
            except MigrationError:
                pass  # the session expires on its own
            self._session = None

    def call(self, command: str, **params: str) -> Answer:
        """The answer of a session command; `WcapFailure` for a nonzero errno."""
        for attempt in range(2):
            with self._lock:
                if self._session is None:
                    self.login()
                session = self._session
            found = self._fetch(command, dict(params, id=session))
            if found.errno == LOGIN_FAILED and attempt == 0:
                with self._lock:
                    if self._session == session:  # not renewed by another thread yet
                        logger.warning("old server: session expired during %s; logging "
                                       "in again", command)
                        self.relogins += 1
                        self._session = None
                continue
            if found.errno not in (None, 0):
                raise WcapFailure(command, found.errno)
            return found
        raise MigrationError("the old server ends every new session at once (errno 1 "
                             "to %s right after login)" % command)

    # ------------------------------------------------------------ reads
    def all_users(self) -> List[str]:
        """Everyone who owns a calendar (search_calprops over all calendars' owners)."""
        found = self.call("search_calprops", **{"search-string": "", "primaryOwner": "1",
                                                "calid": "1", "searchOpts": "0",
                                                "maxResults": "0", "fmt-out": "text/xml"})
        users: List[str] = []
        for group in calendar_groups(found.props):
            entry = calendar_entry(group)
            for uid in (entry.owner if entry else "", (entry.calid.split(":")[0]
                                                         if entry else "")):
                if uid and uid not in users:
                    users.append(uid)
        return users

    def user(self, uid: str) -> UserEntry:
        try:
            found = self.call("get_userprefs", userid=uid, **{"fmt-out": "text/xml"})
        except WcapFailure as e:
            if e.errno in NOT_ALLOWED:
                raise NotAdministrator("%r is not an administrator of the old server: "
                                       "get_userprefs of %s answered errno %d"
                                       % (self.admin, uid, e.errno)) from None
            raise
        prefs: Dict[str, str] = {}
        for name, value in found.props:
            if name.upper().startswith("X-NSCP-WCAP-PREF-"):
                prefs[name[len("X-NSCP-WCAP-PREF-"):]] = value
        lowered = {k.lower(): v for k, v in prefs.items()}
        return UserEntry(uid=uid, mail=lowered.get("mail", ""), cn=lowered.get("cn", ""),
                         tz=lowered.get("icstimezone", ""), prefs=prefs)

    def calendars(self, uid: str) -> List[CalendarEntry]:
        """The calendars ``uid`` owns: ``list`` (WCAP 3.x) or, from a server without it
        or one whose list misses calendars it never registered (a store copied in from
        plain Radicale), search_calprops by primary owner."""
        entries: List[CalendarEntry] = []
        try:
            entries = _owned(self.call("list", userid=uid, **{"fmt-out": "text/xml"}), uid)
        except WcapFailure as e:
            if e.errno in NOT_ALLOWED:
                raise NotAdministrator("%r is not an administrator of the old server: "
                                       "list of %s answered errno %d"
                                       % (self.admin, uid, e.errno)) from None
        if not entries:
            entries = _owned(self.call("search_calprops", **{
                "search-string": uid, "primaryOwner": "1", "searchOpts": "2",
                "maxResults": "0", "fmt-out": "text/xml"}), uid)
        return entries

    def calendar(self, entry: CalendarEntry, since: Optional[str] = None) -> SourceCalendar:
        """A calendar's components (``since``: only what changed, and what was deleted)."""
        started = time.monotonic()
        result = SourceCalendar(entry=entry, complete=since is None)
        try:
            if since is None:
                found = self.call("fetchcomponents_by_range", calid=entry.calid,
                                  **ALL_OF_TIME, **LOSSLESS, **{"fmt-out": "text/calendar"})
                result.text = found.components
            else:
                found = self.call("fetchcomponents_by_lastmod", calid=entry.calid,
                                  dtstart=since, dtend="0", **LOSSLESS,
                                  **{"fmt-out": "text/calendar"})
                result.text = found.components
                gone = self.call("fetch_deletedcomponents", calid=entry.calid,
                                 dtstart=since, dtend="0", **{"fmt-out": "text/calendar",
                                                              "component-type": "all"})
                result.deleted = _whole_uids(gone.components)
        except WcapFailure as e:
            result.error = "the old server would not give it: %s" % e
        result.read_seconds = time.monotonic() - started
        return result


def _owned(found: Answer, uid: str) -> List[CalendarEntry]:
    entries: List[CalendarEntry] = []
    for group in calendar_groups(found.props):
        entry = calendar_entry(group)
        if entry is None or entry.calid in {e.calid for e in entries}:
            continue
        if entry.owner == uid or entry.calid.split(":")[0] == uid:
            entries.append(entry)
    return entries


def _whole_uids(text: str) -> List[str]:
    """UIDs of deleted components that were whole items (no RECURRENCE-ID: a deleted
    instance changed its master, which the last-modified fetch brings)."""
    uids: List[str] = []
    uid, instance, depth = None, False, 0
    for line in text.replace("\r\n", "\n").split("\n"):
        name, _, value = split_line(line)
        upper = name.upper()
        if upper == "BEGIN":
            depth += 1
            if depth == 1:
                uid, instance = None, False
        elif upper == "END":
            depth -= 1
            if depth == 0 and uid and not instance and uid not in uids:
                uids.append(uid)
        elif depth == 1 and upper == "UID":
            uid = value.strip()
        elif depth == 1 and upper == "RECURRENCE-ID":
            instance = True
    return uids
