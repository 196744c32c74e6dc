"""Schema of the durable database: ``wcap.sqlite``, or PostgreSQL's ``wcap`` schema.

Everything here is data that the calendar items can not reproduce, so it is
never dropped by ``reindex``: users, sessions, API keys, the calendar
registry (owners, ACL, web names), tombstones, stable item ids, feed origins,
the import journal. Migrations are only ever appended, to both lists: version N
has the same tables on both engines.

PostgreSQL's spelling of SQLite's types: REAL (SQLite's is 8 bytes) is DOUBLE
PRECISION, an AUTOINCREMENT key an identity column, the case-blind web name a unique
index on ``lower(webname)``, every text ``COLLATE "C"`` (SQLite compares, sorts and
``lower()``s bytes and ASCII: names sort and match the same on both), and the
revision triggers are statement triggers calling a function.
"""

from radicale_wcap.db_schema import Schema

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
    # 6: web names are looked up case-blind with lower() on both engines; the index
    # that lookup uses (PostgreSQL's unique one is in its version 1).
    """
    CREATE INDEX calendars_webname_lower ON calendars(lower(webname))
    """,
)

T = 'TEXT COLLATE "C"'
STAMP = "DOUBLE PRECISION"

POSTGRESQL = (
    f"""
    CREATE TABLE users (
        name {T} PRIMARY KEY,
        password_hash {T},
        email {T} NOT NULL DEFAULT '',
        cn {T} NOT NULL DEFAULT '',
        tz {T} NOT NULL DEFAULT 'UTC',
        admin INTEGER NOT NULL DEFAULT 0,
        prefs {T} NOT NULL DEFAULT '{{}}',
        password_changed {STAMP} NOT NULL DEFAULT 0,
        created {STAMP} NOT NULL
    );
    CREATE UNIQUE INDEX users_email ON users(email) WHERE email != '';
    CREATE TABLE login_failures (
        name {T} PRIMARY KEY,
        count INTEGER NOT NULL,
        last {STAMP} NOT NULL
    );
    CREATE TABLE sessions (
        id_hash {T} PRIMARY KEY,
        "user" {T} NOT NULL,
        created {STAMP} NOT NULL,
        last_seen {STAMP} NOT NULL
    );
    CREATE INDEX sessions_user ON sessions("user");
    CREATE TABLE apikeys (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        "user" {T} NOT NULL,
        key_hash {T} NOT NULL UNIQUE,
        label {T} NOT NULL DEFAULT '',
        created {STAMP} NOT NULL,
        last_used {STAMP}
    );
    CREATE TABLE calendars (
        path {T} PRIMARY KEY,
        calid {T} NOT NULL UNIQUE,
        owner {T} NOT NULL,
        owners {T} NOT NULL DEFAULT '[]',
        acl {T} NOT NULL,
        number BIGINT NOT NULL UNIQUE,
        webname {T},
        parent {T},
        settings {T} NOT NULL DEFAULT '{{}}',
        created {STAMP} NOT NULL
    );
    CREATE UNIQUE INDEX calendars_webname ON calendars(lower(webname));
    CREATE TABLE item_ids (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        path {T} NOT NULL,
        uid {T} NOT NULL,
        UNIQUE(path, uid)
    );
    CREATE TABLE tombstones (
        path {T} NOT NULL,
        uid {T} NOT NULL,
        href {T} NOT NULL,
        component {T} NOT NULL DEFAULT '',
        deleted_at {STAMP} NOT NULL,
        PRIMARY KEY (path, uid)
    );
    CREATE INDEX tombstones_time ON tombstones(path, deleted_at);
    CREATE TABLE origins (
        path {T} NOT NULL,
        uid {T} NOT NULL,
        feed {T} NOT NULL,
        fingerprint {T} NOT NULL,
        etag {T} NOT NULL,
        PRIMARY KEY (path, uid)
    );
    CREATE TABLE journal (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        path {T} NOT NULL,
        created {STAMP} NOT NULL,
        state {T} NOT NULL,
        payload {T} NOT NULL
    )
    """,
    """
    CREATE TABLE directory_revision (rev BIGINT NOT NULL);
    INSERT INTO directory_revision (rev) VALUES (0);
    CREATE FUNCTION directory_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE directory_revision SET rev = rev + 1; RETURN NULL; END $$;
    CREATE TRIGGER users_added_or_removed AFTER INSERT OR DELETE ON users
        FOR EACH STATEMENT EXECUTE FUNCTION directory_revision_bump();
    CREATE TRIGGER users_readdressed AFTER UPDATE OF name, email ON users
        FOR EACH STATEMENT EXECUTE FUNCTION directory_revision_bump()
    """,
    """
    CREATE TABLE registry_revision (rev BIGINT NOT NULL);
    INSERT INTO registry_revision (rev) VALUES (floor(random() * 1000000000000)::bigint);
    CREATE FUNCTION registry_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE registry_revision SET rev = rev + 1; RETURN NULL; END $$;
    CREATE TRIGGER calendars_changed AFTER INSERT OR UPDATE OR DELETE ON calendars
        FOR EACH STATEMENT EXECUTE FUNCTION registry_revision_bump()
    """,
    f"""
    ALTER TABLE sessions ADD COLUMN password_changed {STAMP};
    UPDATE sessions SET password_changed =
        (SELECT password_changed FROM users WHERE users.name = sessions."user");
    CREATE INDEX login_failures_last ON login_failures(last)
    """,
    f"""
    CREATE TABLE journal_paths (
        journal_id BIGINT NOT NULL REFERENCES journal(id) ON DELETE CASCADE,
        path {T} NOT NULL,
        PRIMARY KEY (journal_id, path)
    );
    CREATE INDEX journal_paths_path ON journal_paths(path);
    INSERT INTO journal_paths (journal_id, path) SELECT id, path FROM journal
    """,
    "",
)

WCAP = Schema("wcap", MIGRATIONS, POSTGRESQL)

