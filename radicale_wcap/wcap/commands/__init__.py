"""WCAP command handlers and their registry.

The table of commands and parameters is `table.COMMANDS`. Handlers live in modules of
this package grouped by family (``server.py``: version, gettime, ping, get_guids;
others add ``session.py``, ``fetch.py``, ``store.py``, ``delete.py``, ...). Each handler is
registered with the manual's command name::

    from radicale_wcap.wcap.commands import handler
    from radicale_wcap.wcap.result import CalendarLayer, Result

    @handler("fetchcomponents_by_range")
    def fetchcomponents_by_range(ctx, params):
        # ctx: radicale_wcap.wcap.dispatch.Context (ctx.user, ctx.backend, ctx.now()...)
        # params: radicale_wcap.wcap.params.Params, typed and defaulted per the table:
        #   params["calid"] -> list[str] | None, params["dtstart"] -> aware datetime | date | None
        ...
        return Result(calendars=[CalendarLayer("jdoe", props, components, errno=0)])

A handler returns a `Result` or raises ``WcapError``; it never writes text.
`load_handlers()` imports every module of this package once, so a new module only has
to exist to be registered. A module that fails to import raises out of it: the
dispatcher loads the handlers when it is built, so a broken module stops the server at
start instead of turning its commands into BAD_COMMAND answers that look like a client
error.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

from .table import COMMANDS

HANDLERS: dict[str, Callable] = {}
_loaded = False


def handler(name: str) -> Callable[[Callable], Callable]:
    """Register ``func`` as the handler of WCAP command ``name`` (a `COMMANDS` key)."""
    if name not in COMMANDS:
        raise KeyError(f"{name!r} is not a WCAP command in commands/table.py")

    def register(func: Callable) -> Callable:
        existing = HANDLERS.get(name)
        if existing is not None and existing is not func and \
                existing.__qualname__ != func.__qualname__:
            raise ValueError(f"two handlers for {name!r}")
        HANDLERS[name] = func
        return func
    return register


def load_handlers() -> dict[str, Callable]:
    """Import all handler modules of this package (once) and return the registry."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            if info.name != "table" and not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return HANDLERS
