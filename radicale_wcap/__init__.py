"""radicale_wcap: Radicale with the legacy calendar front doors (WCAP, Trumba-style import, JSON APIs)."""
__version__ = "0.1.0"
