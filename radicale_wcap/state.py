"""Per-process shared services, keyed by the project's data folder.

Radicale creates its plugins more than once per process (the sharing module
makes a second storage and rights object), and the middleware needs the same
objects, so nothing lives in a plugin instance: everything is looked up here
by data folder. The data itself is on disk, shared by all processes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from radicale_wcap import schema
from radicale_wcap.config import data_folder, plugin_settings
from radicale_wcap.db import Database, url_for
from radicale_wcap.directory import Directory
from radicale_wcap.registry import Registry

_lock = threading.Lock()
# Most recently used last; a process normally serves one store, tests many.
_services: "OrderedDict[str, Services]" = OrderedDict()
MAX_STORES = 8


class Services:
    def __init__(self, configuration) -> None:
        # Inside, because the storage packages and the store import this module, and
        # store.wiring imports both engines' objects. Inverting it (each engine
        # registering its part when imported) would leave a process that never imported
        # the SQL engine (the command line) with the file engine's index on a SQL store.
        from radicale_wcap.store.wiring import attach

        self.configuration = configuration
        self.settings = plugin_settings(configuration)
        self.folder = data_folder(configuration)
        os.makedirs(self.folder, exist_ok=True)
        self.db = Database(url_for(self.settings.get("storage", "database_url"), self.folder),
                           schema.WCAP, pool_size=self.settings.get("storage", "database_pool"))
        attach(self)  # index, ledger, journal, intents, calendar locks
        s = self.settings
        self.registry = Registry(self.db, s.get("rights", "default_acl"))
        self.directory = Directory(self.db, s)


def services(configuration) -> Services:
    folder = data_folder(configuration)
    found = _services.get(folder)
    if found is not None and found.configuration is configuration:
        return found
    with _lock:
        found = _services.get(folder)
        if found is None or not _same_settings(found, configuration):
            found = Services(configuration)
            _services[folder] = found
        _services.move_to_end(folder)
        while len(_services) > MAX_STORES:
            _services.popitem(last=False)
        return found


def _same_settings(found: "Services", configuration) -> bool:
    return found.settings._values == plugin_settings(configuration)._values


def forget(folder: str) -> None:
    """Tests and ``reindex`` drop cached services of a folder."""
    with _lock:
        _services.pop(folder, None)
