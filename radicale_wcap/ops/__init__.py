"""What an operator needs around the doors, one job per module.

``wrapper.py`` is the WSGI layer outside the middleware (``make_app``): it answers the
health check and the metrics before any door or authentication, and writes one access
line per request. ``access.py`` is that line (doors add what only they know with
``access.note``), ``metrics.py`` the Prometheus counters, ``health.py`` the check,
``timeouts.py`` the longest request the settings allow, which the gunicorn
configuration (``deploy/gunicorn.conf.py``) and the nginx example are sized by.

Nothing here imports a door, so doors and the storage index can import ``access``
and ``metrics`` without a cycle.
"""
