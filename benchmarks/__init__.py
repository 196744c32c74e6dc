"""Benchmarks: stock Radicale 3.9 against radicale_wcap (``python -m benchmarks.run``)."""
