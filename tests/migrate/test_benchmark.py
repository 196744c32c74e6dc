"""benchmarks/migrate.py end to end on a tiny store: the old server as a subprocess, every
event created, both timings reported."""

from __future__ import annotations

from benchmarks import migrate as bench


def test_benchmark_smoke(tmp_path, capsys):
    result = bench.main(["--users", "1", "--events", "6", "--jobs", "2",
                         "--work", str(tmp_path / "work")])
    assert result["items_created"] == 6 and result["items_refused"] == 0
    assert result["source_alone_seconds"] > 0 and result["migration_seconds"] > 0
    out = capsys.readouterr().out
    assert "| old server alone" in out and "| migration" in out
