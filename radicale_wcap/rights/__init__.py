"""Rights plugin: ``[rights] type = radicale_wcap.rights``.

Radicale asks, per collection path, which of its letters a user has; the
answer comes from the same ACE evaluator that every other door uses
(``acl/evaluate.py``), so a user granted only free/busy can not read events
over CalDAV either. What Radicale's letters can not express (deleting an item
needs ``w`` *and* ``d``; changing properties needs ``p:w``) the middleware
decides before Radicale sees the request (``caldav_guard.py``). Radicale asks
here, with the user it has authenticated, before it reads any item; that user
is noted for ``request_view.py``, so that the items read next go out as that
user's view of private and confidential events.

Paths: ``/`` is readable by every logged-in user (discovery); ``/<user>/`` is
the user's home (``RW`` for the user, ``R`` for others so that a shared
calendar can be opened below it); ``/<user>/<calendar>/`` follows its ACL.
``/<user>/~<calid>/`` (another user's calendar shown in the home,
``sharing/``) follows the owner's calendar's ACL for that user while his home
lists it, and grants nothing to anyone else.
"""

from __future__ import annotations

import logging

from radicale import rights as radicale_rights

from radicale_wcap import request_view
from radicale_wcap.principals import access_for
from radicale_wcap.sharing import paths as shared_paths
from radicale_wcap.sharing import shares

logger = logging.getLogger("radicale.wcap.rights")


class Rights(radicale_rights.BaseRights):

    def authorization(self, user: str, *args) -> str:
        # Radicale 3.9: (user, user_groups, path); 3.8: (user, path).
        path = args[-1]
        request_view.note_user(user)
        parts = [p for p in path.strip("/").split("/") if p]
        if not parts:
            return "R" if user else ""
        if len(parts) == 1:
            if user and user == parts[0]:
                return "RW"
            return "R" if user else ""
        if len(parts) == 2 and shared_paths.is_shared_name(parts[1]):
            return shares.radicale_letters(self.configuration, user, path)
        if len(parts) == 2:
            return access_for(self.configuration, user, path).radicale_letters()
        return ""
