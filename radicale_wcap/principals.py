"""Who a login is and what it may do on a path, below the store and the storage plugin.

The rights plugin, the store and the storage plugin's privacy check all ask this;
it lives apart from ``rights`` so that the storage layer needs no plugin above it.
"""

from __future__ import annotations

from radicale_wcap.acl.evaluate import Access, Principal
from radicale_wcap.state import services


def principal_for(configuration, user: str) -> Principal:
    if not user:
        return Principal("")
    found = services(configuration).directory.get(user)
    if found is None:
        return Principal(user)
    return Principal(user, found.email, found.admin)


def access_for(configuration, user: str, path: str) -> Access:
    svc = services(configuration)
    return Access(principal_for(configuration, user), svc.registry.acl_for(path),
                  svc.settings.get("rights", "admin_overrides_acl"))
