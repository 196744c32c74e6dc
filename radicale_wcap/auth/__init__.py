"""Auth plugin: ``[auth] type = radicale_wcap.auth``.

Passwords are checked against the user directory (argon2 hashes), or, with
``[auth] password_backend = ldap`` (or ``imap``, ``htpasswd``, ...), by that
built-in Radicale backend configured with its usual ``[auth]`` options while
the directory keeps only the attributes; such a user's attributes and default
calendar are created at the first successful login.

Radicale turns its own login cache off for plugins it does not know, so the
directory keeps a short-lived credential cache (see ``directory.py``).
After a failed login a user's logins are refused for a while, longer with
each further failure (``Directory.login_refused``); nothing sleeps.

The middleware, which has already authenticated a request (WCAP session, API
key), hands the user over through the WSGI environ key ``radicale_wcap.user``;
clients can not set environ keys that do not start with ``HTTP_``.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from radicale import auth as radicale_auth
from radicale import config as radicale_config

from radicale_wcap.directory import DirectoryError
from radicale_wcap.state import services
from radicale_wcap.store import create_default_calendar

logger = logging.getLogger("radicale.wcap.auth")

ENVIRON_USER = "radicale_wcap.user"
_HANDOVER_TOKEN = secrets.token_urlsafe(32)


def _delegate(configuration, backend: str):
    """A built-in Radicale auth backend, configured from our [auth] section.

    Our [auth] section holds the backend's own options (``ldap_uri``, ...) as
    unconverted strings, because Radicale does not know our plugin type; a
    fresh configuration with ``type = <backend>`` converts and checks them.
    """
    schema = radicale_config.DEFAULT_CONFIG_SCHEMA["auth"]
    raw = {option: configuration.get_raw("auth", option)
           for option in configuration.options("auth")
           if option in schema and option != "type" and not option.startswith("_")}
    raw["type"] = backend
    copy = radicale_config.load()
    copy.update({"auth": raw}, "radicale_wcap password_backend")
    return radicale_auth.load(copy)


class Auth(radicale_auth.BaseAuth):

    def __init__(self, configuration) -> None:
        super().__init__(configuration)
        backend = services(configuration).settings.get("auth", "password_backend")
        self._backend = backend
        self._delegate_auth = None if backend == "internal" else _delegate(configuration, backend)

    def get_external_login(self, environ):
        user = environ.get(ENVIRON_USER)
        if user:
            return user, _HANDOVER_TOKEN
        return ()

    def _login(self, login: str, password: str) -> str:
        svc = services(self.configuration)
        if hmac.compare_digest(password.encode("utf-8", "surrogatepass"),
                               _HANDOVER_TOKEN.encode()):
            return login if svc.directory.get(login) is not None else ""
        if verify(self.configuration, login, password, delegate=self._delegate_auth):
            return login
        return ""


def verify(configuration, login: str, password: str, delegate=None) -> bool:
    """Check a password the way every door does (WCAP login, Basic auth, CalDAV).

    Failures are counted per name in the database (shared by all processes);
    while the back-off after the last one lasts, the name's logins fail at
    once, even with the right password, which is not looked at. Nothing
    sleeps: a delay slept out in a worker thread held it, and 14 failed logins
    for made-up names left the server without one for 30 s.
    """
    svc = services(configuration)
    directory = svc.directory
    if directory.login_refused(login):
        logger.info("Login of %r refused: failed-login back-off not over", login)
        return False
    backend = svc.settings.get("auth", "password_backend")
    ok = False
    if backend == "internal":
        ok = directory.verify_password(login, password)
    else:
        if delegate is None:
            delegate = _shared_delegate(configuration, backend)
        user, _, _ = delegate.login(login, password, radicale_auth.AuthContext())
        ok = bool(user) and user == login
        if ok and directory.get(login) is None:
            _provision(configuration, login)
    if ok:
        directory.clear_failures(login)
        return True
    directory.record_failure(login)
    return False


_delegates: dict = {}


def _shared_delegate(configuration, backend: str):
    key = (id(configuration), backend)
    if key not in _delegates:
        _delegates[key] = _delegate(configuration, backend)
    return _delegates[key]


def _provision(configuration, login: str) -> None:
    """First login of a user whose password lives in LDAP/IMAP/htpasswd."""
    svc = services(configuration)
    try:
        svc.directory.add(login, None)
    except DirectoryError as e:
        logger.warning("Can not create directory entry for %r: %s", login, e)
        return
    try:
        create_default_calendar(configuration, login)
    except Exception:
        logger.exception("Can not create the default calendar of %r", login)
