"""The server's and the proxy's timeouts fit the longest request the settings allow, and
the deploy files agree with each other (gunicorn, nginx, systemd)."""

from __future__ import annotations

import math
import re
import runpy
import shutil
import subprocess

import pytest

from radicale_wcap import config as config_mod
from radicale_wcap.ops.timeouts import FLOOR, MARGIN, SECONDS_PER_EVENT, longest_request
from tests.ops.conftest import GUNICORN_CONF, ROOT, write_config

DEPLOY = ROOT / "deploy"


def settings(**sections):
    return config_mod.load(None, sections)[1]


def test_the_longest_request_is_a_first_import_of_the_largest_feed():
    assert longest_request(settings()) == math.ceil(50000 * SECONDS_PER_EVENT * MARGIN)
    assert longest_request(settings(feeds={"max_events": "200000", "max_body_size": "0"})) == \
        math.ceil(200000 * SECONDS_PER_EVENT * MARGIN)
    # Without a count, the byte limit bounds the events: 20 MB of 250-byte events.
    assert longest_request(settings(feeds={"max_events": "0"})) == \
        math.ceil(80000 * SECONDS_PER_EVENT * MARGIN)
    assert longest_request(settings(feeds={"max_events": "10"},
                                    wcap={"max_import_size": "1000"})) == FLOOR


def test_an_unbounded_import_means_no_timeout_and_the_setting_wins():
    assert longest_request(settings(feeds={"max_events": "0", "max_body_size": "0"})) == 0
    assert longest_request(settings(wcap={"max_import_size": "0"})) == 0
    assert longest_request(settings(feeds={"max_events": "0", "max_body_size": "0"},
                                    http={"request_timeout": "900"})) == 900


def gunicorn_settings(tmp_path, monkeypatch, extra=None) -> dict:
    config = write_config(tmp_path, extra)
    monkeypatch.setenv("RADICALE_WCAP_CONFIG", str(config))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    return runpy.run_path(str(GUNICORN_CONF))


@pytest.mark.parametrize("extra", [{}, {"feeds": {"max_events": "100000"}},
                                   {"http": {"request_timeout": "7200", "threads": "3"}}])
def test_gunicorn_config_fits_the_longest_request(tmp_path, monkeypatch, extra):
    conf = gunicorn_settings(tmp_path, monkeypatch, extra)
    longest = longest_request(config_mod.load(conf["_path"])[1])
    # A sync worker's heartbeat stops during a request; gthread's does not.
    assert conf["worker_class"] == "gthread"
    assert conf["timeout"] >= longest and conf["graceful_timeout"] >= longest
    assert conf["threads"] == int(extra.get("http", {}).get("threads", 8))
    assert conf["bind"] == ["127.0.0.1:5232"]
    assert conf["preload_app"] is True and callable(conf["post_worker_init"])
    # gunicorn's access log would write WCAP query strings: passwords, session ids.
    assert conf["accesslog"] is None
    assert conf["limit_request_line"] == 0


def test_proxy_and_unit_wait_as_long_as_the_server():
    longest = longest_request(settings())
    nginx = (DEPLOY / "nginx.conf").read_text()
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        assert int(re.search(r"^\s*%s (\d+)s;" % directive, nginx, re.M).group(1)) >= longest
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", nginx).group(1))
    defaults = settings()
    assert body_mb * 1_000_000 >= max(defaults.get("feeds", "max_body_size"),
                                      defaults.get("wcap", "max_import_size"))
    assert "$request_uri" not in nginx.split("log_format", 1)[1].split(";", 1)[0]
    assert re.search(r"location /service/ \{[^}]*proxy_buffering off;", nginx)
    # Slow uploads are absorbed by nginx, not by the server's threads.
    assert "proxy_request_buffering off" not in nginx

    unit = (DEPLOY / "radicale-wcap.service").read_text()
    assert int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1)) >= longest
    assert "gunicorn -c /etc/radicale-wcap/gunicorn.conf.py" in unit
    assert re.search(r"^User=radicale-wcap$", unit, re.M)
    assert re.search(r"^ProtectSystem=strict$", unit, re.M)
    writable = re.search(r"^ReadWritePaths=(.*)$", unit, re.M).group(1).split()
    assert writable == ["/var/lib/radicale-wcap", "/var/log/radicale-wcap"]
    example = config_mod.read_file(str(DEPLOY / "config.example"))
    assert example["http"]["access_log"].startswith("/var/log/radicale-wcap/")
    assert "/var/log/radicale-wcap/*.log" in (DEPLOY / "logrotate").read_text()


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_accepts_the_site(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=calendar.example.org", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    site = (DEPLOY / "nginx.conf").read_text()
    site = re.sub(r"/etc/letsencrypt/live/[^;]*/fullchain.pem", str(tmp_path / "cert.pem"), site)
    site = re.sub(r"/etc/letsencrypt/live/[^;]*/privkey.pem", str(tmp_path / "key.pem"), site)
    site = site.replace("/var/log/nginx/", str(tmp_path) + "/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp { include %s/site.conf; }\n"
        % (tmp_path, tmp_path, tmp_path))
    checked = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
