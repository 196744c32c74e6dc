"""text/js layer arrays: one element must not become ``new Array(n)`` (n empty slots)."""

import pytest

from radicale_wcap.wcap.render import js
from radicale_wcap.wcap.result import Result

from .conftest import run_js


@pytest.mark.parametrize("values", [[5], [0, 59], []])
def test_layer_arrays_keep_their_values(values):
    page = js.render(Result(layer_arrays={"delete_event_count": values}))
    assert run_js(page)["delete_event_count"] == values


def test_harness_hides_the_interpreter_globals():
    # A page that works only because the test interpreter has ``require`` would fail in
    # Lightning's frame; the harness must show that.
    page = js.render(Result()).replace("parent.ceCB", "require('fs');parent.ceCB")
    with pytest.raises(AssertionError, match="require"):
        run_js(page)
