"""The benchmark harness runs end to end on a tiny store (both servers as
subprocesses) and prints the rows the issue asks for."""

import time

from benchmarks import run as bench_run

EXPECTED = (
    "first REPORT on the fresh store",
    "REPORT one week, cold",
    "REPORT one week, warm",
    "PUT one new event",
    "GET whole calendar",
    "one-week query in-process",
)


def test_harness_on_a_tiny_store(tmp_path, capsys):
    started = time.monotonic()
    result = bench_run.main(["--events", "200", "--repeat", "2", "--only", "caldav",
                             "--work", str(tmp_path / "work"),
                             "--results", str(tmp_path / "results")])
    elapsed = time.monotonic() - started
    rows = result["rows"]
    assert len(rows) == len(EXPECTED)
    for row, expected in zip(rows, EXPECTED):
        assert row["operation"].startswith(expected), row["operation"]
    for row in rows:
        assert row["stock_ms"] is not None and row["stock_ms"] > 0
        assert row["wcap_ms"] is not None and row["wcap_ms"] > 0
    warm = rows[2]
    assert warm["note"].startswith("both answer"), warm["note"]
    assert result["rss_kib"]["stock"] > 0 and result["rss_kib"]["wcap"] > 0
    out = capsys.readouterr().out
    assert "| operation" in out and "speed-up" in out and "peak RSS" in out
    assert list((tmp_path / "results").glob("*-200ev.md"))
    assert elapsed < 20, "smoke run took %.1f s" % elapsed


def test_throughput_module_on_a_tiny_store(tmp_path):
    """gunicorn with 1 and 4 workers and stock Radicale under load for a second each:
    every phase answers without an error and the rows come in the documented order."""
    result = bench_run.main(["--events", "200", "--only", "throughput",
                             "--throughput-seconds", "1", "--throughput-clients", "3",
                             "--work", str(tmp_path / "work"), "--results", ""])
    rows = result["rows"]
    expected = ["throughput %s: %s" % (phase, metric)
                for phase in ("1 worker, mixed", "1 worker, CalDAV part",
                              "4 workers, mixed", "4 workers, CalDAV part")
                for metric in ("requests/s", "p50", "p99")]
    assert [r["operation"] for r in rows] == expected, [r["operation"] for r in rows]
    for row in rows:
        assert row["stock_ms"] > 0 and row["wcap_ms"] > 0 and row["speedup"] > 0, row
    rates = rows[0::3]
    assert all(r["unit"] == "req/s" for r in rates)
    assert rates[0]["speedup"] == rates[0]["wcap_ms"] / rates[0]["stock_ms"]
    # every door of the mixed load was exercised
    for op in ("CalDAV REPORT", "CalDAV GET", "CalDAV PUT", "WCAP fetch", "WCAP storeevents",
               "JSON GET"):
        assert op in rates[0]["note"], rates[0]["note"]
