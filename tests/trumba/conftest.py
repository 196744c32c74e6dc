import pathlib

import pytest

FEEDS = pathlib.Path(__file__).resolve().parent.parent / "data" / "feeds"


@pytest.fixture
def feed_bytes():
    """Load a fixture feed from tests/data/feeds by name."""
    def load(name: str) -> bytes:
        return (FEEDS / name).read_bytes()
    return load
