"""The per-user spool behind the deprecated ``upload_file`` / ``write_file`` pair.

Table 7-40: the UI uploads files first and writes them to a calendar later, so the
bytes have to wait somewhere: ``<data folder>/spool/<user>/<uniquefilename>``. The
``uniquefilename`` is ours (32 hex digits, the shape of the manual's example), so a name
that comes back in ``write_file`` is checked against that pattern before it touches a
path; the user part is a validated user name. Files older than ``[wcap] spool_expiry``
seconds are swept whenever the spool is used, and a file is removed once written.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
import time

from radicale_wcap import calid as calid_mod

logger = logging.getLogger("radicale.wcap.wcap.spool")

UNIQUE_NAME = re.compile(r"[0-9a-f]{32}\Z")


class SpoolError(ValueError):
    """An unknown, expired or malformed unique file name."""


class Spool:
    def __init__(self, folder: str, expiry: float) -> None:
        self.root = os.path.join(folder, "spool")
        self.expiry = expiry

    def _user_folder(self, user: str) -> str:
        if not calid_mod.is_valid_name(user):
            raise SpoolError("invalid user name")
        return os.path.join(self.root, user)

    def _path(self, user: str, name: str) -> str:
        if not UNIQUE_NAME.match(name or ""):
            raise SpoolError("malformed unique file name")
        return os.path.join(self._user_folder(user), name)

    def sweep(self, user: str) -> None:
        """Remove this user's uploads that are older than the expiry."""
        folder = self._user_folder(user)
        limit = time.time() - self.expiry
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return
        for name in names:
            path = os.path.join(folder, name)
            try:
                if os.stat(path).st_mtime < limit:
                    os.unlink(path)
            except FileNotFoundError:
                pass

    def put(self, user: str, data: bytes) -> str:
        """Keep ``data`` for ``user``; the unique file name to write it later."""
        self.sweep(user)
        folder = self._user_folder(user)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        name = secrets.token_hex(16)
        # Written beside its final name and renamed, so a reader never sees half a file.
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temp, os.path.join(folder, name))
        except BaseException:
            try:
                os.unlink(temp)
            except FileNotFoundError:
                pass
            raise
        return name

    def get(self, user: str, name: str) -> bytes:
        self.sweep(user)
        try:
            with open(self._path(user, name), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise SpoolError("no such upload (expired or never uploaded)") from None

    def discard(self, user: str, name: str) -> None:
        try:
            os.unlink(self._path(user, name))
        except (FileNotFoundError, SpoolError):
            pass


def spool_of(instance) -> Spool:
    return Spool(instance.services.folder, instance.settings.get("wcap", "spool_expiry"))
