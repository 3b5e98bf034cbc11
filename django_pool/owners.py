"""Who holds a lent connection: a thread or, under gevent, a greenlet.

The pool records the holder of each checkout. It takes back the connections
of holders that ended, and names them in leak reports. Django keeps one
connection per ``threading.local()``, which is one per thread, and one per
greenlet once gevent has patched ``threading``.

In a greenlet, ``threading.current_thread()`` is a stand-in (gevent's
``_DummyThread``, named "Dummy-N") that says it is alive for ever, even after
its greenlet died. Recorded as the holder, it would hide every greenlet that
was killed holding a connection (``gevent.kill``, a ``gevent.Timeout``, a
client that went away): the connection would stay lent until the garbage
collector freed the greenlet, never if something still references it, and
the pool would run dry. So under gevent the holder is the greenlet itself.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Protocol

__all__ = ["Owner", "current_owner"]


class Owner(Protocol):
    """What the pool needs of a holder: a name for reports, and whether it still runs."""

    name: str

    def is_alive(self) -> bool: ...


class GreenletOwner:
    """A greenlet holding a connection, referenced weakly (it may die and be freed)."""

    __slots__ = ("_greenlet", "name")

    def __init__(self, greenlet: Any) -> None:
        self._greenlet = weakref.ref(greenlet)
        #: gevent's name ("Greenlet-3", or the one given), else the address.
        self.name: str = getattr(greenlet, "name", None) or f"greenlet 0x{id(greenlet):x}"

    def is_alive(self) -> bool:
        """Return whether the greenlet still exists and has not finished."""
        greenlet = self._greenlet()
        return greenlet is not None and not greenlet.dead


def current_owner() -> Owner:
    """Return the holder of connections checked out now: the greenlet or the thread."""
    thread = threading.current_thread()
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return thread
    from greenlet import getcurrent  # type: ignore[import-untyped]

    greenlet = getcurrent()
    if greenlet.parent is None:  # a thread's main greenlet: the thread is the holder
        return thread
    return GreenletOwner(greenlet)
