"""``GET /.well-known/health``: no credentials, 200 while the store and databases answer,
503 with the failed part named (and the reason only in the log) when not."""

from __future__ import annotations

import json
import os
import shutil

from radicale_wcap.middleware import make_app
from tests.conftest import InProcessClient, make_instance


def test_healthy_without_credentials(client):
    response = client.request("GET", "/.well-known/health")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body) == dict(json.loads(response.body), status="ok",
                                            store="ok", database="ok", index="ok")
    head = client.request("HEAD", "/.well-known/health")
    assert head.status == 200 and head.body == b""


def test_a_store_that_is_gone_is_unhealthy(tmp_path, caplog):
    instance = make_instance(str(tmp_path))
    client = InProcessClient(make_app(instance))
    shutil.rmtree(os.path.join(str(tmp_path), "collections", "collection-root"))
    response = client.request("GET", "/.well-known/health")
    assert response.status == 503
    report = json.loads(response.body)
    assert report["status"] == "failed" and report["store"] == "failed"
    assert report["database"] == "ok"
    assert str(tmp_path) not in response.text
    assert "collection-root is not a folder" in caplog.text


def test_path_is_a_setting(tmp_path):
    client = InProcessClient(make_app(make_instance(str(tmp_path), {"http": {
        "health_path": "/status/health"}})))
    assert client.request("GET", "/status/health").status == 200
    assert client.request("GET", "/.well-known/health").status != 200
