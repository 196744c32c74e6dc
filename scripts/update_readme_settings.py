"""Regenerate the settings table in README.md from radicale_wcap.config.SETTINGS."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from radicale_wcap.config import settings_table_markdown  # noqa: E402

path = os.path.join(os.path.dirname(__file__), "..", "README.md")
text = open(path).read()
start = text.index("| section | option | default | meaning |")
end = text.index("\n\n", start)
open(path, "w").write(text[:start] + settings_table_markdown() + text[end:])
