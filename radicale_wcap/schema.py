"""Schema of the durable database ``wcap.sqlite``.

Everything here is data that the calendar items can not reproduce, so it is
never dropped by ``reindex``: users, sessions, API keys, the calendar
registry (owners, ACL, web names), tombstones, stable item ids, feed origins,
the import journal. Migrations are only ever appended.
"""

MIGRATIONS = (
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        password_hash TEXT,
        email TEXT NOT NULL DEFAULT '',
        cn TEXT NOT NULL DEFAULT '',
        tz TEXT NOT NULL DEFAULT 'UTC',
        admin INTEGER NOT NULL DEFAULT 0,
        prefs TEXT NOT NULL DEFAULT '{}',
        password_changed REAL NOT NULL DEFAULT 0,
        created REAL NOT NULL
    );
    CREATE UNIQUE INDEX users_email ON users(email) WHERE email != '';
    CREATE TABLE login_failures (
        name TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last REAL NOT NULL
    );
    CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        created REAL NOT NULL,
        last_seen REAL NOT NULL
    );
    CREATE INDEX sessions_user ON sessions(user);
    CREATE TABLE apikeys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        last_used REAL
    );
    CREATE TABLE calendars (
        path TEXT PRIMARY KEY,
        calid TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        owners TEXT NOT NULL DEFAULT '[]',
        acl TEXT NOT NULL,
        number INTEGER NOT NULL UNIQUE,
        webname TEXT UNIQUE COLLATE NOCASE,
        parent TEXT,
        settings TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL
    );
    CREATE TABLE item_ids (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL,
        uid TEXT NOT NULL,
        UNIQUE(path, uid)
    );
    CREATE TABLE tombstones (
        path TEXT NOT NULL,
        uid TEXT NOT NULL,
        href TEXT NOT NULL,
        component TEXT NOT NULL DEFAULT '',
        deleted_at REAL NOT NULL,
        PRIMARY KEY (path, uid)
    );
    CREATE INDEX tombstones_time ON tombstones(path, deleted_at);
    CREATE TABLE origins (
        path TEXT NOT NULL,
        uid TEXT NOT NULL,
        feed TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        etag TEXT NOT NULL,
        PRIMARY KEY (path, uid)
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL,
        created REAL NOT NULL,
        state TEXT NOT NULL,
        payload TEXT NOT NULL
    )
    """,
    # 2: a revision of the address book (name and mail of every user), bumped by
    # triggers so that every process sees another's change with one read: the
    # WCAP output cache keys ATTENDEE/ORGANIZER calids on it.
    """
    CREATE TABLE directory_revision (rev INTEGER NOT NULL);
    INSERT INTO directory_revision (rev) VALUES (0);
    CREATE TRIGGER users_added AFTER INSERT ON users BEGIN UPDATE directory_revision SET rev = rev + 1; END;
    CREATE TRIGGER users_removed AFTER DELETE ON users BEGIN UPDATE directory_revision SET rev = rev + 1; END;
    CREATE TRIGGER users_readdressed AFTER UPDATE OF name, email ON users BEGIN UPDATE directory_revision SET rev = rev + 1; END
    """,
    # 3: a revision of the calendar registry (ACLs, owners), bumped by triggers in the
    # transaction that changes a row. The ACL cache is keyed on it: ``PRAGMA
    # data_version`` counts per connection, so comparing one thread's value with
    # another's left a revoked grant working for a fifth of the next requests. It
    # starts at a random number so that a cache never matches a recreated database.
    """
    CREATE TABLE registry_revision (rev INTEGER NOT NULL);
    INSERT INTO registry_revision (rev) VALUES (abs(random() % 1000000000000));
    CREATE TRIGGER calendars_added AFTER INSERT ON calendars BEGIN UPDATE registry_revision SET rev = rev + 1; END;
    CREATE TRIGGER calendars_removed AFTER DELETE ON calendars BEGIN UPDATE registry_revision SET rev = rev + 1; END;
    CREATE TRIGGER calendars_changed AFTER UPDATE ON calendars BEGIN UPDATE registry_revision SET rev = rev + 1; END
    """,
    # 4: each session remembers the password_changed of its user at login, and lives
    # only while the two agree, so that any password change, by any door or process,
    # ends the user's sessions; the failed-login table is pruned by age.
    """
    ALTER TABLE sessions ADD COLUMN password_changed REAL;
    UPDATE sessions SET password_changed = (SELECT password_changed FROM users WHERE users.name = sessions.user);
    CREATE INDEX login_failures_last ON login_failures(last)
    """,
    # 5: the journal serves every batch (storage/journal.py), which may span calendars:
    # the calendars of each row, so that whoever next locks one of them finds it.
    """
    CREATE TABLE journal_paths (
        journal_id INTEGER NOT NULL REFERENCES journal(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        PRIMARY KEY (journal_id, path)
    );
    CREATE INDEX journal_paths_path ON journal_paths(path);
    INSERT INTO journal_paths (journal_id, path) SELECT id, path FROM journal
    """,
)
