"""Every command of `commands/table.py` has a handler, and a handler module that does not
import stops the dispatcher (and so the server) from starting: a broken module used to
be logged and skipped, and its commands then answered 52 as if the client were wrong."""

from __future__ import annotations

import pytest

from radicale_wcap.middleware import make_app
from radicale_wcap.wcap import commands
from radicale_wcap.wcap.commands.table import COMMANDS
from radicale_wcap.wcap.dispatch import WcapDispatcher

from .conftest import FakeBackend


def test_every_command_in_the_table_has_a_handler():
    handlers = commands.load_handlers()
    assert sorted(set(COMMANDS) - set(handlers)) == []
    assert sorted(set(handlers) - set(COMMANDS)) == []


@pytest.fixture
def broken_module(tmp_path, monkeypatch):
    """A handler module on the package path whose import fails, as a typo would."""
    (tmp_path / "broken.py").write_text('raise RuntimeError("broken handler module")\n')
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    monkeypatch.setattr(commands, "_loaded", False)


def test_a_module_that_fails_to_import_fails_loading(broken_module):
    with pytest.raises(RuntimeError, match="broken handler module"):
        commands.load_handlers()


def test_a_module_that_fails_to_import_fails_the_dispatcher(broken_module):
    with pytest.raises(RuntimeError, match="broken handler module"):
        WcapDispatcher(FakeBackend())


def test_a_module_that_fails_to_import_fails_the_server(broken_module, instance):
    with pytest.raises(RuntimeError, match="broken handler module"):
        make_app(instance)
