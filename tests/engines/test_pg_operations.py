"""Operations on an instance whose durable tables are in PostgreSQL: verify, backup's
refusal, the health check and the session gauge; and the setting's own checks."""

from __future__ import annotations

import json

import pytest

from radicale_wcap import config as config_mod
from radicale_wcap.backup import BackupError, backup
from radicale_wcap.ops import health, metrics
from radicale_wcap.verify import verify_store
from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, add_user, make_instance
from tests.wcap.conftest import wcap_login


@pytest.fixture
def instance(tmp_path, pg_url):
    made = make_instance(str(tmp_path), {"storage": {"database_url": pg_url}})
    add_user(made, "jdoe")
    yield made
    made.services.db.dispose()


def test_the_durable_tables_are_in_postgresql_not_in_a_file(instance, tmp_path):
    assert instance.services.db.kind == "postgresql"
    assert instance.directory.get("jdoe") is not None
    assert not list(tmp_path.rglob("wcap.sqlite"))


def test_verify_is_clean(instance):
    found = []
    assert verify_store(instance, found.append) == 0, found


def test_verify_reports_a_schema_behind_the_code(instance):
    instance.services.db.execute("UPDATE schema_version SET version = 2 WHERE name = 'wcap'")
    found = []
    assert verify_store(instance, found.append) == 1
    assert "version 2" in found[0] and "PostgreSQL" in found[0]


def test_backup_refuses_and_names_pg_dump(instance, tmp_path):
    with pytest.raises(BackupError) as refused:
        backup(instance, str(tmp_path / "copy"), log=lambda line: None)
    assert "pg_dump" in str(refused.value)
    assert not (tmp_path / "copy").exists() and not (tmp_path / "copy.partial").exists()


def test_health_and_the_session_gauge_read_postgresql(instance):
    # The item store's part is the storage engine's (files or SQL); the database's is ours.
    _, body = health.check(instance)
    assert json.loads(body)["database"] == "ok", body
    client = InProcessClient(make_app(instance))
    wcap_login(client, "jdoe")
    _, scraped = metrics.scrape(instance)
    assert b"radicale_wcap_sessions 1.0" in scraped


def test_a_bad_database_url_is_refused_without_echoing_it(tmp_path):
    path = tmp_path / "config"
    path.write_text("[storage]\nfilesystem_folder = %s\n"
                    "database_url = mysql://jdoe:s3cr3t-pw@db.example/wcap\n" % tmp_path)
    with pytest.raises(config_mod.ConfigError) as refused:
        config_mod.load(str(path))
    assert "database_url" in str(refused.value)
    assert "s3cr3t-pw" not in str(refused.value)
