"""The side index's tables (``index.sqlite``), as migrations applied in order.

The index is a cache, so a migration that changes what rows mean starts afresh
(deletes every row; the next request on a calendar rebuilds it from the files).
"""

INDEX_VERSION = 1

INDEX_MIGRATIONS = (
    """
    CREATE TABLE collections (
        path TEXT PRIMARY KEY,
        folder_mtime_ns INTEGER NOT NULL,
        recorded_ns INTEGER NOT NULL
    );
    CREATE TABLE items (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        uid TEXT NOT NULL,
        component TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        recurring INTEGER NOT NULL,
        complete INTEGER NOT NULL,
        expanded_until INTEGER NOT NULL,
        hostile INTEGER NOT NULL DEFAULT 0,
        etag TEXT NOT NULL,
        mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        has_alarm INTEGER NOT NULL,
        PRIMARY KEY (path, href)
    );
    CREATE INDEX items_uid ON items(path, uid);
    CREATE INDEX items_start ON items(path, start);
    CREATE INDEX items_mtime ON items(path, mtime_ns);
    CREATE TABLE instances (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL
    );
    CREATE INDEX instances_range ON instances(path, start);
    CREATE INDEX instances_href ON instances(path, href);
    CREATE TABLE alarms (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        trigger INTEGER NOT NULL
    );
    CREATE INDEX alarms_trigger ON alarms(path, trigger);
    CREATE INDEX alarms_href ON alarms(path, href)
    """,
    # 2: spans longer than SHORT_SPAN are flagged, so that a range query scans
    # only [start - SHORT_SPAN, end) of the start index instead of every item
    # that starts before the range ends. The index is a cache: start afresh.
    """
    DELETE FROM collections;
    DELETE FROM items;
    DELETE FROM instances;
    DELETE FROM alarms;
    ALTER TABLE items ADD COLUMN long INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE instances ADD COLUMN long INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX items_short ON items(path, recurring, long, start);
    CREATE INDEX instances_short ON instances(path, long, start)
    """,
    # 3: the item text, so that the fast calendar-query path reads no item files.
    """
    DELETE FROM collections;
    DELETE FROM items;
    DELETE FROM instances;
    DELETE FROM alarms;
    ALTER TABLE items ADD COLUMN text TEXT NOT NULL DEFAULT ''
    """,
    # 4: instances are "short" up to INSTANCE_SHORT_SPAN (two days, not 31);
    # recurring items not indexed that far are found without a full scan.
    """
    DELETE FROM collections;
    DELETE FROM items;
    DELETE FROM instances;
    DELETE FROM alarms;
    CREATE INDEX items_beyond ON items(path, recurring, complete, expanded_until)
    """,
    # 5: single-item write intents (storage/intents.py), written before the file.
    """
    CREATE TABLE intents (
        path TEXT NOT NULL,
        href TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (path, href)
    )
    """,
    # 6: the item file's inode, so that a row identifies the very file it was read
    # from (mtime, size, inode: the key of the in-memory item memo) and can stand in
    # for Radicale's item cache. Rows from before have 0 and are never used that way.
    """
    ALTER TABLE items ADD COLUMN inode INTEGER NOT NULL DEFAULT 0
    """,
)
