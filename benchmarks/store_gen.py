"""A plain Radicale store with one big calendar, written as files.

Writing the ``.ics`` files and ``.Radicale.props`` directly is much faster
than PUTting 10,000 items through a server, and leaves the store exactly as
stock Radicale would see a calendar copied in by hand: no item cache, no
index. Each server then builds its own caches from the same files.

The calendar (``/bench/cal/``), deterministic for a given seed and "now":

* 90 % single events, start uniform over 3 years centred on now; 10 % of them
  all-day (``VALUE=DATE``), 10 % of the timed ones in ``Europe/Berlin`` with
  a VTIMEZONE;
* 10 % recurring: weekly or daily, ending by COUNT, by UNTIL or never; 30 %
  of them with EXDATEs, 20 % with a RECURRENCE-ID override in the same file.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import shutil
from dataclasses import dataclass
from typing import Tuple

# Bump when the generated calendar changes, so cached stores are rebuilt.
GENERATOR_VERSION = 1

USER = "bench"
CALENDAR_PATH = "/bench/cal/"
RECURRING_SHARE = 0.10
ALL_DAY_SHARE = 0.10
ZONED_SHARE = 0.10
SPAN_DAYS = 3 * 365

# (weight, freq, end) of the recurring series
RULE_KINDS = (
    (25, "WEEKLY", "COUNT"),
    (20, "DAILY", "COUNT"),
    (20, "WEEKLY", "UNTIL"),
    (10, "DAILY", "UNTIL"),
    (20, "WEEKLY", "NONE"),
    (5, "DAILY", "NONE"),
)

BERLIN = """BEGIN:VTIMEZONE\r
TZID:Europe/Berlin\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
END:VTIMEZONE\r
"""

UTC_FMT = "%Y%m%dT%H%M%SZ"
LOCAL_FMT = "%Y%m%dT%H%M%S"
DATE_FMT = "%Y%m%d"


@dataclass(frozen=True)
class StoreInfo:
    folder: str            # the store's filesystem_folder (holds collection-root/)
    events: int
    seed: int
    now: datetime.datetime
    recurring: int
    all_day: int

    @property
    def calendar_path(self) -> str:
        return CALENDAR_PATH

    @property
    def calendar_folder(self) -> str:
        return os.path.join(self.folder, "collection-root", *CALENDAR_PATH.strip("/").split("/"))

    def week(self) -> Tuple[datetime.datetime, datetime.datetime]:
        """The query week: Monday 00:00 UTC of the week holding "now", 7 days."""
        day = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=7)


def _vcalendar(body: str, zoned: bool) -> str:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//radicale_wcap//benchmark//EN\r\n"
            + (BERLIN if zoned else "") + body + "END:VCALENDAR\r\n")


def _single(rng: random.Random, uid: str, stamp: str, now: datetime.datetime,
            n: int) -> Tuple[str, bool]:
    offset = rng.uniform(-SPAN_DAYS / 2, SPAN_DAYS / 2)
    start = now + datetime.timedelta(days=offset)
    start = start.replace(minute=(start.minute // 15) * 15, second=0, microsecond=0)
    lines = ["BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:" + stamp,
             "SUMMARY:Event %d" % n, "LOCATION:Room %d" % rng.randint(1, 40)]
    all_day = rng.random() < ALL_DAY_SHARE
    zoned = False
    if all_day:
        day = start.date()
        days = rng.choice((1, 1, 1, 2, 3))
        lines += ["DTSTART;VALUE=DATE:" + day.strftime(DATE_FMT),
                  "DTEND;VALUE=DATE:" + (day + datetime.timedelta(days=days)).strftime(DATE_FMT)]
    else:
        end = start + datetime.timedelta(minutes=rng.choice((30, 60, 60, 90, 120, 180)))
        zoned = rng.random() < ZONED_SHARE
        if zoned:
            lines += ["DTSTART;TZID=Europe/Berlin:" + start.strftime(LOCAL_FMT),
                      "DTEND;TZID=Europe/Berlin:" + end.strftime(LOCAL_FMT)]
        else:
            lines += ["DTSTART:" + start.strftime(UTC_FMT), "DTEND:" + end.strftime(UTC_FMT)]
    if rng.random() < 0.3:
        lines.append("DESCRIPTION:" + " ".join("word%d" % rng.randint(0, 999)
                                               for _ in range(rng.randint(5, 30))))
    lines.append("END:VEVENT")
    return _vcalendar("".join(line + "\r\n" for line in lines), zoned), all_day


def _recurring(rng: random.Random, uid: str, stamp: str, now: datetime.datetime,
               n: int) -> str:
    kinds = [k for k in RULE_KINDS for _ in range(k[0])]
    _, freq, ending = rng.choice(kinds)
    step = datetime.timedelta(days=7 if freq == "WEEKLY" else 1)
    start = now + datetime.timedelta(days=rng.uniform(-SPAN_DAYS / 2, SPAN_DAYS / 6))
    start = start.replace(minute=0, second=0, microsecond=0)
    end = start + datetime.timedelta(minutes=rng.choice((30, 60, 90)))
    rule = "RRULE:FREQ=" + freq
    if ending == "COUNT":
        count = rng.randint(10, 100) if freq == "WEEKLY" else rng.randint(5, 60)
        rule += ";COUNT=%d" % count
        last = count
    elif ending == "UNTIL":
        last = rng.randint(10, 120) if freq == "WEEKLY" else rng.randint(10, 90)
        rule += ";UNTIL=" + (start + step * (last - 1)).strftime(UTC_FMT)
    else:
        last = 60
    head = ["UID:" + uid, "DTSTAMP:" + stamp]
    master = ["BEGIN:VEVENT"] + head + [
        "SUMMARY:Series %d (%s %s)" % (n, freq.lower(), ending.lower()),
        "DTSTART:" + start.strftime(UTC_FMT), "DTEND:" + end.strftime(UTC_FMT), rule]
    if rng.random() < 0.3:
        for k in sorted(rng.sample(range(1, max(2, last - 1)), min(3, max(1, last - 2)))):
            master.append("EXDATE:" + (start + step * k).strftime(UTC_FMT))
    master.append("END:VEVENT")
    lines = master
    if rng.random() < 0.2 and last > 3:
        k = rng.randint(1, last - 2)
        original = start + step * k
        moved = original + datetime.timedelta(hours=2)
        lines += ["BEGIN:VEVENT"] + head + [
            "RECURRENCE-ID:" + original.strftime(UTC_FMT),
            "SUMMARY:Series %d (moved)" % n,
            "DTSTART:" + moved.strftime(UTC_FMT),
            "DTEND:" + (moved + (end - start)).strftime(UTC_FMT), "END:VEVENT"]
    return _vcalendar("".join(line + "\r\n" for line in lines), False)


def generate(folder: str, events: int = 10000, seed: int = 1,
             now: datetime.datetime = None) -> StoreInfo:
    """Write a fresh store under ``folder`` (removed first if present)."""
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    stamp = now.strftime(UTC_FMT)
    rng = random.Random(seed)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    info_stub = StoreInfo(folder, events, seed, now, 0, 0)
    cal = info_stub.calendar_folder
    os.makedirs(cal)
    with open(os.path.join(cal, ".Radicale.props"), "w", encoding="utf-8") as f:
        json.dump({"C:supported-calendar-component-set": "VEVENT,VTODO",
                   "D:displayname": "Benchmark (%d events)" % events,
                   "tag": "VCALENDAR"}, f)
    recurring_every = round(1 / RECURRING_SHARE)
    recurring = all_day = 0
    for n in range(events):
        uid = "bench-%06d-%d@radicale-wcap.invalid" % (n, seed)
        if n % recurring_every == recurring_every - 1:
            text = _recurring(rng, uid, stamp, now, n)
            recurring += 1
        else:
            text, is_all_day = _single(rng, uid, stamp, now, n)
            all_day += is_all_day
        with open(os.path.join(cal, "bench-%06d.ics" % n), "w", encoding="utf-8",
                  newline="") as f:
            f.write(text)
    info = StoreInfo(folder, events, seed, now, recurring, all_day)
    with open(os.path.join(folder, "bench-meta.json"), "w", encoding="utf-8") as f:
        json.dump({"version": GENERATOR_VERSION, "events": events, "seed": seed,
                   "now": now.isoformat(), "recurring": recurring, "all_day": all_day}, f)
    return info


def load_or_generate(work: str, events: int, seed: int = 1) -> StoreInfo:
    """The pristine store for (events, seed), generated once and kept in ``work``."""
    folder = os.path.join(work, "store-%d-s%d" % (events, seed))
    meta_path = os.path.join(folder, "bench-meta.json")
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("version") == GENERATOR_VERSION and meta.get("events") == events:
            return StoreInfo(folder, events, seed,
                             datetime.datetime.fromisoformat(meta["now"]),
                             meta["recurring"], meta["all_day"])
    except (OSError, ValueError, KeyError):
        pass
    # Several runs may start at once (engineers share the work folder): generate
    # aside, then rename into place; whoever loses the race uses the winner's store.
    partial = "%s.partial-%d" % (folder, os.getpid())
    info = generate(partial, events, seed)
    if os.path.exists(folder):
        shutil.rmtree(folder, ignore_errors=True)  # stale: another generator version
    try:
        os.rename(partial, folder)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
        return load_or_generate(work, events, seed)
    return StoreInfo(folder, info.events, info.seed, info.now, info.recurring, info.all_day)


def copy_store(info: StoreInfo, target: str) -> str:
    """A private copy of the pristine store (the pristine one is never served)."""
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.copytree(info.folder, target, ignore=shutil.ignore_patterns("bench-meta.json"))
    return target
