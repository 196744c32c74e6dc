"""Who is calling the JSON APIs: HTTP Basic or an ``x-api-key``.

Keys are checked through ``apikeys.py`` (hashes only); a key whose user has
since been removed from the directory is refused like an unknown key.
Neither the key nor the password is ever logged.
"""

from __future__ import annotations

import logging
from typing import Optional

from radicale_wcap import auth
from radicale_wcap.http import basic_credentials

logger = logging.getLogger("radicale.wcap.api")

API_KEY_HEADER = "HTTP_X_API_KEY"


def api_key_user(instance, key: Optional[str]) -> Optional[str]:
    user = instance.apikeys.user_of(key)
    if user is None or instance.directory.get(user) is None:
        logger.warning("API key refused (unknown, revoked or malformed)")
        return None
    return user


def authenticate(instance, environ) -> Optional[str]:
    """The user, or None when there are no (valid) credentials."""
    key = environ.get(API_KEY_HEADER)
    if key is not None:
        return api_key_user(instance, key)
    credentials = basic_credentials(environ)
    if credentials is None:
        return None
    login, password = credentials
    if auth.verify(instance.configuration, login, password):
        return login
    logger.warning("API Basic login refused for %r", login)
    return None
