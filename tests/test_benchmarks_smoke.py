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
