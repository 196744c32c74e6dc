"""Everything one configured server needs, built once per process."""

from __future__ import annotations

from typing import Any, Dict, Optional

from radicale_wcap import config as config_mod
from radicale_wcap.apikeys import ApiKeys
from radicale_wcap.sessions import Sessions
from radicale_wcap.state import services
from radicale_wcap.store import CalendarStore
from radicale_wcap.wcap.output_cache import OutputCache


class Instance:
    def __init__(self, configuration, settings: config_mod.Settings) -> None:
        self.configuration = configuration
        self.settings = settings
        self.services = services(configuration)
        self.store = CalendarStore(configuration)
        self.sessions = Sessions(self.services.db,
                                 settings.get("wcap", "session_idle_timeout"),
                                 settings.get("wcap", "session_max_lifetime"))
        self.apikeys = ApiKeys(self.services.db)
        self.output_cache = OutputCache(settings.get("wcap", "output_cache_size") << 20)

    @classmethod
    def from_file(cls, path: Optional[str],
                  overrides: Optional[Dict[str, Dict[str, Any]]] = None) -> "Instance":
        configuration, settings = config_mod.load(path, overrides)
        return cls(configuration, settings)

    @property
    def directory(self):
        return self.services.directory

    @property
    def registry(self):
        return self.services.registry

    @property
    def ledger(self):
        return self.services.ledger
