"""Who a login is and what it may do on a path, below the store and the storage plugin.

The rights plugin, the store and the storage plugin's privacy check all ask this;
it lives apart from ``rights`` so that the storage layer needs no plugin above it.

A path in a home's shared namespace (``sharing/paths.py``, ``/jsmith/~jdoe/``) is
decided by the owner's calendar's ACL for the home's user, and by no ACE at all for
anyone else: without this, the registry's default record would make jsmith the
primary owner of every path in his home, shared ones included.
"""

from __future__ import annotations

from radicale_wcap.acl.evaluate import Access, CalendarACL, Principal
from radicale_wcap.calid import normalize_path
from radicale_wcap.sharing import paths as shared_paths
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
    if shared_paths.in_shared_namespace(path):
        located = shared_paths.locate(path)
        if located is not None and user and user == located.subscriber:
            acl = svc.registry.acl_for(located.owner_path)
        else:
            acl = CalendarACL(normalize_path(path), "", frozenset(), ())
    else:
        acl = svc.registry.acl_for(path)
    return Access(principal_for(configuration, user), acl,
                  svc.settings.get("rights", "admin_overrides_acl"))
