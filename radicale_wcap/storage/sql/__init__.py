"""Storage plugin on SQL: items, index and change log as rows of one database.

``[storage] type = radicale_wcap.storage.sql`` (chosen by itself when ``[storage]
database_url`` is a ``postgresql://`` URL). Radicale's ``BaseStorage``/``BaseCollection``
on SQLAlchemy Core, for PostgreSQL (several server processes on several hosts over one
database) and, through the same code, SQLite:

* ``schema.py``     the tables (collections, items with their index columns, instances,
                    alarms, the change log);
* ``engine.py``     engines, one transaction per write, advisory locks per calendar;
* ``index.py``      the index's questions, asked of the item rows;
* ``collection.py`` a collection: items, properties, sync tokens;
* ``storage.py``    discover, create, move, lock, verify;
* ``batch.py``      the store's all-or-nothing batch as one transaction;
* ``ledger.py``     tombstones from the change log;
* ``services.py``   what the engine adds to the per-process services.

The privacy guard (``storage/privacy.py``) wraps these classes as it wraps the file
engine's, so every door sees the same redaction and refusals.
"""

from __future__ import annotations

from radicale_wcap.storage import privacy as privacy_hooks
from radicale_wcap.storage.sharing import SharingStorage

from .batch import SqlBatch
from .collection import Collection as SqlCollection
from .services import PLUGIN, selected
from .storage import SqlStorage

__all__ = ["Collection", "PLUGIN", "Storage", "selected"]

Collection = privacy_hooks.guarded(SqlCollection)


class Storage(SharingStorage, privacy_hooks.StorageGuard, SqlStorage):
    _collection_class = Collection
    batch_class = SqlBatch

