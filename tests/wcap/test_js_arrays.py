"""text/js layer arrays: one element must not become ``new Array(n)`` (n empty slots)."""

import json
import shutil
import subprocess

import pytest

from radicale_wcap.wcap.render import js
from radicale_wcap.wcap.result import Result


@pytest.mark.parametrize("values", [[5], [0, 59], []])
def test_layer_arrays_keep_their_values(values):
    text = js.render(Result(layer_arrays={"delete_event_count": values}))
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    script = text.split("<script>")[1].split("</script>")[0].replace(
        "parent.ceCB(window.name)", "")
    out = subprocess.run(["node", "-e", "function color(){};" + script +
                          ";console.log(JSON.stringify(Array.from(delete_event_count)))"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == values
