"""The health check at ``[http] health_path``: do the store and the databases answer?

For load balancers and ``systemd``/container probes, so it needs no credentials, is
cheap (one indexed read per database, one ``stat`` and access check of the collection
folder, no lock that a long feed import holds) and says nothing a stranger could use:
``ok`` or ``failed`` per part; the reason goes to the log.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Callable, Dict, Tuple

logger = logging.getLogger("radicale.wcap.health")


def _database(db) -> None:
    db.ping()


def _store(instance) -> None:
    root = os.path.join(instance.configuration.get("storage", "filesystem_folder"),
                        "collection-root")
    if not os.path.isdir(root):
        raise OSError("%s is not a folder" % root)
    if not os.access(root, os.R_OK | os.W_OK | os.X_OK):
        raise OSError("%s is not writable by this process" % root)


def check(instance) -> Tuple[bool, bytes]:
    """``(healthy, JSON body)``."""
    parts: Dict[str, Callable[[], None]] = {
        "store": lambda: _store(instance),
        "database": lambda: _database(instance.services.db),
        "index": lambda: _database(instance.services.index_db),
    }
    report: Dict[str, object] = {}
    healthy = True
    started = time.monotonic()
    for name, probe in parts.items():
        try:
            probe()
        except Exception as e:
            logger.error("Health check: %s failed: %s", name, e)
            report[name] = "failed"
            healthy = False
        else:
            report[name] = "ok"
    report["status"] = "ok" if healthy else "failed"
    report["ms"] = round((time.monotonic() - started) * 1000, 1)
    return healthy, json.dumps(report).encode("utf-8")
