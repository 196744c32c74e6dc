"""``--users-from-ldap``: the user list from the directory the site already has, with
the ``[auth]`` LDAP settings Radicale's own ``ldap`` backend reads (``ldap_uri``,
``ldap_base``, ``ldap_reader_dn``, ``ldap_secret`` or ``ldap_secret_file``,
``ldap_filter``, ``ldap_user_attribute``), through ``ldap3``, the library Radicale's
backend uses: every entry the filter matches with ``{0}`` as ``*``.
"""

from __future__ import annotations

from typing import List

from .errors import MigrationError

try:
    import ldap3
except ImportError:  # only sites that authenticate against LDAP install it
    ldap3 = None


def _setting(configuration, name: str, default: str = "") -> str:
    try:
        value = configuration.get("auth", name)
    except KeyError:
        return default
    return str(value) if value not in (None, "") else default


def users_from_ldap(configuration) -> List[str]:
    if ldap3 is None:
        raise MigrationError("--users-from-ldap needs the ldap3 package (pip install "
                             "ldap3), as Radicale's ldap authentication does")
    uri = _setting(configuration, "ldap_uri")
    base = _setting(configuration, "ldap_base")
    if not uri or not base:
        raise MigrationError("--users-from-ldap needs [auth] ldap_uri and ldap_base")
    secret = _setting(configuration, "ldap_secret")
    secret_file = _setting(configuration, "ldap_secret_file")
    if secret_file:
        try:
            with open(secret_file, encoding="utf-8") as f:
                secret = f.read().rstrip("\n")
        except OSError as e:
            raise MigrationError("can not read [auth] ldap_secret_file: %s" % e) from None
    attribute = _setting(configuration, "ldap_user_attribute", "uid")
    search = _setting(configuration, "ldap_filter", "(cn={0})").replace("{0}", "*")
    try:
        server = ldap3.Server(uri)
        connection = ldap3.Connection(server, _setting(configuration, "ldap_reader_dn") or None,
                                      secret or None, auto_bind=True)
        entries = connection.extend.standard.paged_search(
            base, search, attributes=[attribute], paged_size=500, generator=True)
        users = []
        for entry in entries:
            values = (entry.get("attributes") or {}).get(attribute)
            value = values[0] if isinstance(values, list) and values else values
            if value and str(value) not in users:
                users.append(str(value))
        connection.unbind()
    except ldap3.core.exceptions.LDAPException as e:
        raise MigrationError("LDAP search at %s failed: %s" % (uri, e)) from None
    return users
