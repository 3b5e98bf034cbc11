"""Whether the server hung up on an idle connection: one zero-timeout ``poll()`` of its socket.

A server that ends a session (kill, restart, idle timeout, failover) closes
its socket, which becomes readable while no request is outstanding
(urllib3's ``wait_for_read`` is the model). Readable can also mean a notice
the server pushed: only a round trip can tell, and the pool pings then.

The poll must keep the GIL. A zero-timeout poll never blocks, yet
``select.poll()`` lets go of the GIL around it, as every system call of the
standard library does: under threads, each release wakes a thread waiting
for the GIL, and the checkout often waits to get it back. With 8 threads on
a pool of 8 (PostgreSQL) that was 18.2 context switches per request against
the native pool's 14.3, and 0.92x its throughput (docs/performance.md, "The
poll that let go of the GIL"). So the C library's ``poll()`` is called
through :class:`ctypes.PyDLL`, whose calls keep the GIL by definition. Where
ctypes cannot (no ctypes, no C library ``poll``), or where there is no GIL
to keep (free-threaded Python), ``select.poll`` (the operating system's,
even where gevent patched ``select``: its poll would switch greenlets in the
middle of a checkout); where that is missing too (Windows), no watch:
pre-ping alone.
"""

from __future__ import annotations

import functools
import select
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["watcher"]

#: What "readable" means: data, or urgent data; hang-ups and errors are
#: always reported.
_EVENTS = getattr(select, "POLLIN", 1) | getattr(select, "POLLPRI", 2)


@functools.cache
def _libc_poll() -> tuple[Any, Any] | None:
    # (the C library's poll(), called with the GIL held; its pollfd struct),
    # or None without ctypes or poll(). Looked up at the first connection.
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return None  # free-threaded: no GIL to keep, and select.poll costs less
    try:
        import ctypes

        class PollFd(ctypes.Structure):
            _fields_ = (
                ("fd", ctypes.c_int),
                ("events", ctypes.c_short),
                ("revents", ctypes.c_short),
            )

        return ctypes.PyDLL(None).poll, PollFd
    except Exception:  # noqa: BLE001 - no ctypes, no poll(), an audit hook's veto
        return None


def watcher(fd: int | None) -> Callable[[], Any] | None:
    """Return a call that is truthy when socket *fd* is readable, hung up or in error.

    The call never blocks and never releases the GIL (where ctypes can call
    the C library). None when *fd* cannot be watched (no socket: SQLite).
    """
    if fd is None or fd < 0:
        return None
    libc = _libc_poll()
    if libc is not None:
        import ctypes

        poll, poll_fd = libc
        # poll() returns how many entries have events (1), 0 when none, -1 on
        # an error (EINTR): anything but 0 is worth a ping. The byref()
        # object, held by the partial, keeps the struct alive.
        return functools.partial(poll, ctypes.byref(poll_fd(fd, _EVENTS, 0)), 1, 0)
    poll_class = _os_poll()
    if poll_class is None:
        return None
    poller = poll_class()
    poller.register(fd, _EVENTS)
    return functools.partial(poller.poll, 0)


def _os_poll() -> Any:
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("select"):
        return monkey.get_original("select", "poll")
    return getattr(select, "poll", None)
