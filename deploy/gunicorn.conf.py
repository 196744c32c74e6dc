"""gunicorn settings for radicale_wcap, sized from the server's own config file:

    RADICALE_WCAP_CONFIG=/etc/radicale-wcap/config \\
        gunicorn -c /etc/radicale-wcap/gunicorn.conf.py radicale_wcap.wsgi:application

Command-line options override these (``-b``, ``-w``); ``WEB_CONCURRENCY`` sets the
worker count. ``kill -HUP`` re-reads this file and the config file and replaces the
workers gracefully (new ones serve at once, old ones finish their requests);
new code needs a restart.
"""

import glob
import os
import tempfile

from radicale_wcap import config as _config
from radicale_wcap.ops.timeouts import longest_request

_path = os.environ.setdefault("RADICALE_WCAP_CONFIG", "/etc/radicale-wcap/config")
_configuration, _settings = _config.load(_path)

# Each worker counts in its own files here and a scrape adds them up; it must be set
# before anything imports prometheus_client, which is why it is done in this file.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="radicale-wcap-metrics-")

bind = ["[%s]:%d" % (h, p) if ":" in h else "%s:%d" % (h, p)
        for h, p in _configuration.get("server", "hosts")]

# Threads, not the default sync worker: a sync worker's heartbeat stops while it
# answers, so gunicorn's 30 s timeout killed every feed import over 30 s (HTTP 500 to
# the client, half of them). A gthread worker's main loop keeps beating while its
# threads work, so a long import is not killed and the other threads keep serving.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, min(4, os.cpu_count() or 1)))
threads = _settings.get("http", "threads")

# Both fit the longest request the settings allow (radicale_wcap/ops/timeouts.py): a
# restart or a max_requests recycling lets every running import finish. With gthread,
# ``timeout`` only catches a worker whose main loop is stuck; it is as long so that a
# switch back to sync workers could not bring the kills back.
timeout = longest_request(_settings)
graceful_timeout = timeout
keepalive = 5

# A worker is replaced, gracefully, after this many requests: memory that vobject and
# the caches hold does not grow for ever.
max_requests = 5000
max_requests_jitter = 500

# Modules are imported once in the master and shared by the forked workers; the
# application itself (database connections, the storage's locks) is built in each
# worker after the fork, in post_worker_init.
preload_app = True

# WCAP clients put whole events in the query string (Lightning's storeevents): the
# proxy's 64 KB header buffers (deploy/nginx.conf) bound them, not gunicorn's 4 KB
# default, which answered 400 to long descriptions.
limit_request_line = 0
limit_request_field_size = 65536

# Logs: gunicorn's own and the application's to stderr (journald under systemd).
# No gunicorn access log: it would write the query strings, which carry WCAP passwords
# and session ids; the application writes one access line per request without them
# ([http] access_log).
errorlog = "-"
loglevel = "info"
accesslog = None
proc_name = "radicale-wcap"
# systemctl reload sends HUP; gunicorn 25's control socket would be one more way in,
# made in the service user's home.
control_socket_disable = True


def on_starting(server):
    # Counters of a previous run would be added to this one's.
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def post_worker_init(worker):
    # Building the app rolls back a feed import that a killed worker left half done,
    # before this worker answers anything.
    from radicale_wcap import wsgi
    wsgi.load()


def child_exit(server, worker):
    from radicale_wcap.ops import metrics
    metrics.mark_process_dead(worker.pid)


def worker_abort(worker):
    worker.log.error("Worker %d aborted after %d s without a heartbeat; the requests it "
                     "was answering got an error or a closed connection", worker.pid,
                     worker.cfg.timeout)
