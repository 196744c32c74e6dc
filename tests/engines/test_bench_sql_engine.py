"""The PostgreSQL engine's benchmark module runs end to end on a tiny store."""

from benchmarks import run as bench_run


def test_sql_engine_rows_on_a_tiny_store(tmp_path):
    result = bench_run.main(["--events", "200", "--repeat", "1", "--only", "sql-engine",
                             "--sql-feed-events", "20", "--work", str(tmp_path / "work"),
                             "--results", ""])
    rows = result["rows"]
    assert [r["operation"] for r in rows] == [
        "PostgreSQL engine: REPORT one week", "PostgreSQL engine: PUT one new event",
        "PostgreSQL engine: WCAP fetch one week (vs stock REPORT)",
        "PostgreSQL engine: feed first import, 20 events"]
    for row in rows:
        assert row["wcap_ms"] > 0, row
    # Both servers answered the same week.
    items = rows[0]["note"].split(" items (stock ")
    assert items[0].rsplit(" ", 1)[-1] == items[1].split(")")[0], rows[0]["note"]
