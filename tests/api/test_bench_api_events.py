"""benchmarks/bench_api_events.py runs in the harness on a tiny store (both servers as
subprocesses) and compares the JSON week view with stock's REPORT of the same week."""

import re

from benchmarks import run as bench_run


def test_api_events_module_on_a_tiny_store(tmp_path):
    result = bench_run.main(["--events", "200", "--repeat", "1", "--only", "api-events",
                             "--work", str(tmp_path / "work"), "--results", ""])
    rows = result["rows"]
    assert [r["operation"].split(" (")[0].split(", cold")[0] for r in rows] == \
        ["JSON GET events of one week"] * 2
    for row in rows:
        assert row["stock_ms"] > 0 and row["wcap_ms"] > 0, row
    found = re.search(r"(\d+) events \(a series once\) against stock's (\d+) items",
                      rows[0]["note"])
    assert found and 0 < int(found[1]) <= int(found[2]), rows[0]["note"]
