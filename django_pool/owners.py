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

Knowing when to look costs nothing per checkout: each loan of a thread holds a
weak reference to an object in that thread's ``threading.local()`` storage,
which Python frees when the thread's state is cleared at its end (before
``join()`` returns). The reference's callback counts the end, and the pools
look for gone holders when that count moves, rather than asking every lent
thread ``is_alive()`` at every waiting checkout. Whether a holder is gone is
still ``is_alive()``: a thread Python did not start that enters Python call by
call has its state cleared after each call, and still runs.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Owner", "current_owner", "current_owner_and_end"]

#: Callback of the weak references :func:`current_owner_and_end` returns.
EndCallback = Callable[["weakref.ref[Any]"], None]


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


class _Life:
    """Kept in a thread's local storage only: freed when the thread ends."""

    __slots__ = ("__weakref__",)


# Made at import, before any checkout: the original threading.local, even if
# gevent patches the threading module later (and then it is not used: see below).
_lives = threading.local()


def current_owner_and_end(callback: EndCallback) -> tuple[Owner, weakref.ref[Any] | None]:
    """Return :func:`current_owner` and a weak reference that dies when it ends.

    When the reference dies (the thread's state is cleared), *callback* runs,
    in the ending thread: it must only take note. The first *callback* given
    in a thread is the one kept. None instead of a reference once gevent has
    patched ``threading`` (its locals end with a greenlet object, not when
    the greenlet finishes): the owner's ``is_alive()`` says.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return current_owner(), None
    try:
        return _lives.owner_and_end
    except AttributeError:
        pass
    life = _lives.life = _Life()
    owner_and_end = _lives.owner_and_end = (threading.current_thread(), weakref.ref(life, callback))
    return owner_and_end
