"""Calendars of other users in a user's own CalDAV home (issue 17).

CalDAV clients list only the collections under the user's home, so a calendar jsmith
subscribed to (WCAP ``subscribe_calendars``, the ``icsSubscribed`` preference, the
command line) or, where the site wants it, one whose ACL grants him read, appears
there as a collection of its own (``paths.py``). It is not a copy and not a second
set of rights: every request on it is the owner's calendar, decided by the owner's
ACEs for jsmith on every request (``shares.py``), and what jsmith names or colours it
is his own (``properties.py``). The storage plugin shows it (``storage/sharing.py``).

Nothing is imported here: ``principals`` needs ``paths`` and ``shares`` needs
``principals``, so the package face stays empty.
"""
