"""Cut a forked child off its parent's database sockets.

A child process inherits every socket its parent's pools opened. It must never
use them (registry.py makes it forget the inherited pools) and never end them
either. Freeing a connection object can end the session: mysqlclient sends
``COM_QUIT`` when its connection object is freed, and an exiting Python process
frees its objects. A gunicorn worker leaving after ``--max-requests``, or a
Celery child after ``--max-tasks-per-child``, would otherwise close its
master's sessions on its way out.

So each pooled connection that has a socket is noted when it opens. In the
child, right after ``fork``, each inherited descriptor is pointed at
``/dev/null`` (``dup2``). The child's copy then leads nowhere, and whatever a
driver later writes to it (a ``QUIT``, a TLS ``close_notify``) is lost. The
parent's socket is untouched: the parent holds its own descriptor of the same
kernel socket.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from typing import Any

__all__ = ["track"]

# DB-API connections the pools of this process opened, while they live.
_open: weakref.WeakSet[Any] = weakref.WeakSet()


def track(connection: Any) -> None:
    """Note *connection*, a DB-API connection a pool opened, to cut off in forked children.

    Connections without a ``fileno()`` (SQLite, PyMySQL) are left alone: they
    have no socket to cut off, or send nothing when freed.
    """
    # Not weak-referenceable (TypeError): not tracked, as without a socket.
    if callable(getattr(connection, "fileno", None)):
        with contextlib.suppress(TypeError):
            _open.add(connection)


def _cut_off_in_child() -> None:
    inherited = list(_open)
    _open.clear()
    if not inherited:
        return
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for connection in inherited:
            try:
                fd = connection.fileno()
            except Exception:  # noqa: BLE001 - closed already: no socket left
                continue
            if isinstance(fd, int) and fd >= 0:
                os.dup2(null, fd)
    finally:
        os.close(null)


os.register_at_fork(after_in_child=_cut_off_in_child)
